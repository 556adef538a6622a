-- AlterTable
ALTER TABLE "Vm" ADD COLUMN "bandwidthMbps" INTEGER,
ADD COLUMN "burstKb" INTEGER;
