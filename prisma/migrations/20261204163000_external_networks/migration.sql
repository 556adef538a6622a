-- External networks (a LAN of the data centre, an uplink) per LAN segment,
-- bound on each host to an interface or VLAN; routers' and firewalls' legs on
-- them with SNAT, floating IPs and port forwards. Every pool address in use is
-- one row of "ExternalAddress", unique per network whichever tenant holds it.

-- CreateTable
CREATE TABLE "ExternalNetwork" (
    "id" UUID NOT NULL,
    "segmentId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "cidr" TEXT NOT NULL,
    "gateway" TEXT NOT NULL,
    "poolStart" TEXT NOT NULL,
    "poolEnd" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "ExternalNetwork_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ExternalNetworkBinding" (
    "id" UUID NOT NULL,
    "externalNetworkId" UUID NOT NULL,
    "hostId" UUID NOT NULL,
    "interface" TEXT NOT NULL,
    "vid" INTEGER,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ExternalNetworkBinding_pkey" PRIMARY KEY ("id")
);

-- CreateTable: a leg's vnet id comes from the router links' sequence (above every farm's vnets)
CREATE TABLE "ExternalLeg" (
    "id" UUID NOT NULL,
    "farmId" UUID NOT NULL,
    "externalNetworkId" UUID NOT NULL,
    "routerId" UUID,
    "firewallId" UUID,
    "ip" TEXT NOT NULL,
    "mac" TEXT NOT NULL,
    "snat" TEXT[] NOT NULL,
    "vnid" BIGINT NOT NULL DEFAULT nextval('"RouterLink_vnid_seq"'::regclass),
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "ExternalLeg_pkey" PRIMARY KEY ("id"),
    -- exactly one of a router and a firewall
    CONSTRAINT "ExternalLeg_node_check" CHECK (("routerId" IS NULL) <> ("firewallId" IS NULL))
);

-- CreateTable
CREATE TABLE "ExternalAddress" (
    "id" UUID NOT NULL,
    "externalNetworkId" UUID NOT NULL,
    "ip" TEXT NOT NULL,
    "legId" UUID NOT NULL,
    "vifId" UUID,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ExternalAddress_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "PortForward" (
    "id" UUID NOT NULL,
    "legId" UUID NOT NULL,
    "protocol" TEXT NOT NULL,
    "externalPort" INTEGER NOT NULL,
    "vifId" UUID NOT NULL,
    "internalPort" INTEGER NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "PortForward_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "ExternalNetwork_segmentId_name_key" ON "ExternalNetwork"("segmentId", "name");

-- CreateIndex
CREATE UNIQUE INDEX "ExternalNetworkBinding_externalNetworkId_hostId_key" ON "ExternalNetworkBinding"("externalNetworkId", "hostId");

-- CreateIndex
CREATE UNIQUE INDEX "ExternalLeg_routerId_key" ON "ExternalLeg"("routerId");

-- CreateIndex
CREATE UNIQUE INDEX "ExternalLeg_firewallId_key" ON "ExternalLeg"("firewallId");

-- CreateIndex
CREATE UNIQUE INDEX "ExternalLeg_vnid_key" ON "ExternalLeg"("vnid");

-- CreateIndex
CREATE UNIQUE INDEX "ExternalAddress_externalNetworkId_ip_key" ON "ExternalAddress"("externalNetworkId", "ip");

-- CreateIndex
CREATE UNIQUE INDEX "ExternalAddress_legId_vifId_key" ON "ExternalAddress"("legId", "vifId");

-- CreateIndex
CREATE UNIQUE INDEX "PortForward_legId_protocol_externalPort_key" ON "PortForward"("legId", "protocol", "externalPort");

-- AddForeignKey
ALTER TABLE "ExternalNetwork" ADD CONSTRAINT "ExternalNetwork_segmentId_fkey" FOREIGN KEY ("segmentId") REFERENCES "LanSegment"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ExternalNetworkBinding" ADD CONSTRAINT "ExternalNetworkBinding_externalNetworkId_fkey" FOREIGN KEY ("externalNetworkId") REFERENCES "ExternalNetwork"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ExternalNetworkBinding" ADD CONSTRAINT "ExternalNetworkBinding_hostId_fkey" FOREIGN KEY ("hostId") REFERENCES "Host"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ExternalLeg" ADD CONSTRAINT "ExternalLeg_farmId_fkey" FOREIGN KEY ("farmId") REFERENCES "Farm"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ExternalLeg" ADD CONSTRAINT "ExternalLeg_externalNetworkId_fkey" FOREIGN KEY ("externalNetworkId") REFERENCES "ExternalNetwork"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ExternalLeg" ADD CONSTRAINT "ExternalLeg_routerId_fkey" FOREIGN KEY ("routerId") REFERENCES "Router"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ExternalLeg" ADD CONSTRAINT "ExternalLeg_firewallId_fkey" FOREIGN KEY ("firewallId") REFERENCES "Firewall"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ExternalAddress" ADD CONSTRAINT "ExternalAddress_externalNetworkId_fkey" FOREIGN KEY ("externalNetworkId") REFERENCES "ExternalNetwork"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ExternalAddress" ADD CONSTRAINT "ExternalAddress_legId_fkey" FOREIGN KEY ("legId") REFERENCES "ExternalLeg"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ExternalAddress" ADD CONSTRAINT "ExternalAddress_vifId_fkey" FOREIGN KEY ("vifId") REFERENCES "Vif"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "PortForward" ADD CONSTRAINT "PortForward_legId_fkey" FOREIGN KEY ("legId") REFERENCES "ExternalLeg"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "PortForward" ADD CONSTRAINT "PortForward_vifId_fkey" FOREIGN KEY ("vifId") REFERENCES "Vif"("id") ON DELETE CASCADE ON UPDATE CASCADE;
