-- CreateTable
CREATE TABLE "VnetVlan" (
    "id" UUID NOT NULL,
    "vnetId" UUID NOT NULL,
    "hostId" UUID NOT NULL,
    "interface" TEXT NOT NULL,
    "vid" INTEGER NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "VnetVlan_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "VnetVlan_vnetId_hostId_key" ON "VnetVlan"("vnetId", "hostId");

-- AddForeignKey
ALTER TABLE "VnetVlan" ADD CONSTRAINT "VnetVlan_vnetId_fkey" FOREIGN KEY ("vnetId") REFERENCES "Vnet"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "VnetVlan" ADD CONSTRAINT "VnetVlan_hostId_fkey" FOREIGN KEY ("hostId") REFERENCES "Host"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
