-- CreateTable
CREATE TABLE "VnetKey" (
    "id" UUID NOT NULL,
    "vnetId" UUID NOT NULL,
    "keyId" BIGINT NOT NULL,
    "key" BYTEA NOT NULL,
    "salt" BYTEA NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "activatedAt" TIMESTAMPTZ(3),
    "retiredAt" TIMESTAMPTZ(3),

    CONSTRAINT "VnetKey_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "DeploymentSecret" (
    "name" TEXT NOT NULL,
    "value" BYTEA NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "DeploymentSecret_pkey" PRIMARY KEY ("name")
);

-- CreateIndex
CREATE UNIQUE INDEX "VnetKey_vnetId_keyId_key" ON "VnetKey"("vnetId", "keyId");

-- AddForeignKey
ALTER TABLE "VnetKey" ADD CONSTRAINT "VnetKey_vnetId_fkey" FOREIGN KEY ("vnetId") REFERENCES "Vnet"("id") ON DELETE CASCADE ON UPDATE CASCADE;
