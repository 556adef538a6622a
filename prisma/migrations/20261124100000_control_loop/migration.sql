-- CreateTable
CREATE TABLE "HostDesiredState" (
    "hostId" UUID NOT NULL,
    "generation" INTEGER NOT NULL,
    "hash" TEXT NOT NULL,
    "state" JSONB NOT NULL,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "HostDesiredState_pkey" PRIMARY KEY ("hostId")
);

-- CreateTable
CREATE TABLE "HostReport" (
    "hostId" UUID NOT NULL,
    "appliedGeneration" INTEGER NOT NULL,
    "report" JSONB NOT NULL,
    "receivedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "HostReport_pkey" PRIMARY KEY ("hostId")
);

-- CreateTable
CREATE TABLE "Deployment" (
    "id" UUID NOT NULL,
    "farmId" UUID NOT NULL,
    "kind" TEXT NOT NULL,
    "revision" INTEGER,
    "targets" JSONB NOT NULL,
    "createdById" UUID,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "completedAt" TIMESTAMPTZ(3),

    CONSTRAINT "Deployment_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "Deployment_farmId_createdAt_idx" ON "Deployment"("farmId", "createdAt");

-- AddForeignKey
ALTER TABLE "HostDesiredState" ADD CONSTRAINT "HostDesiredState_hostId_fkey" FOREIGN KEY ("hostId") REFERENCES "Host"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "HostReport" ADD CONSTRAINT "HostReport_hostId_fkey" FOREIGN KEY ("hostId") REFERENCES "Host"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Deployment" ADD CONSTRAINT "Deployment_farmId_fkey" FOREIGN KEY ("farmId") REFERENCES "Farm"("id") ON DELETE CASCADE ON UPDATE CASCADE;
