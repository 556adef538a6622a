-- AlterTable
ALTER TABLE "Host" ADD COLUMN "dnsUpstream" JSONB NOT NULL DEFAULT '[]';
