-- CreateSchema
CREATE SCHEMA IF NOT EXISTS "public";

-- CreateEnum
CREATE TYPE "Role" AS ENUM ('admin', 'operator', 'viewer');

-- CreateEnum
CREATE TYPE "HostStatus" AS ENUM ('pending', 'online', 'offline', 'revoked');

-- CreateEnum
CREATE TYPE "VnetSecurity" AS ENUM ('none', 'auth', 'conf');

-- CreateEnum
CREATE TYPE "GuestKind" AS ENUM ('emulated', 'tap');

-- CreateEnum
CREATE TYPE "FirewallAction" AS ENUM ('allow', 'deny');

-- CreateEnum
CREATE TYPE "FirewallProtocol" AS ENUM ('any', 'tcp', 'udp', 'icmp');

-- CreateTable
CREATE TABLE "Tenant" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Tenant_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "User" (
    "id" UUID NOT NULL,
    "tenantId" UUID NOT NULL,
    "username" TEXT NOT NULL,
    "displayName" TEXT NOT NULL DEFAULT '',
    "passwordHash" TEXT NOT NULL,
    "role" "Role" NOT NULL DEFAULT 'viewer',
    "disabled" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "User_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Session" (
    "id" UUID NOT NULL,
    "userId" UUID NOT NULL,
    "tokenHash" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastSeenAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Session_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ApiToken" (
    "id" UUID NOT NULL,
    "tenantId" UUID NOT NULL,
    "userId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "prefix" TEXT NOT NULL,
    "tokenHash" TEXT NOT NULL,
    "role" "Role" NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "lastUsedAt" TIMESTAMPTZ(3),
    "expiresAt" TIMESTAMPTZ(3),
    "revokedAt" TIMESTAMPTZ(3),

    CONSTRAINT "ApiToken_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "LanSegment" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "multicast" BOOLEAN NOT NULL DEFAULT true,
    "multicastGroup" TEXT NOT NULL DEFAULT '224.10.0.1',
    "relayHostId" UUID,
    "proxyMode" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "LanSegment_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Host" (
    "id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "address" TEXT NOT NULL,
    "port" INTEGER NOT NULL DEFAULT 1798,
    "segmentId" UUID,
    "status" "HostStatus" NOT NULL DEFAULT 'pending',
    "lastSeenAt" TIMESTAMPTZ(3),
    "agentVersion" TEXT,
    "capabilities" JSONB NOT NULL DEFAULT '[]',
    "credentialHash" TEXT,
    "desiredGeneration" INTEGER NOT NULL DEFAULT 0,
    "appliedGeneration" INTEGER NOT NULL DEFAULT 0,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Host_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "EnrollmentToken" (
    "id" UUID NOT NULL,
    "hostId" UUID NOT NULL,
    "tokenHash" TEXT NOT NULL,
    "createdById" UUID,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "expiresAt" TIMESTAMPTZ(3) NOT NULL,
    "usedAt" TIMESTAMPTZ(3),

    CONSTRAINT "EnrollmentToken_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Farm" (
    "id" UUID NOT NULL,
    "tenantId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "revision" INTEGER NOT NULL DEFAULT 1,
    "deployedRevision" INTEGER,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Farm_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Vnet" (
    "id" UUID NOT NULL,
    "farmId" UUID NOT NULL,
    "vnid" BIGINT NOT NULL,
    "name" TEXT NOT NULL,
    "cidr" TEXT NOT NULL,
    "mtu" INTEGER NOT NULL DEFAULT 1400,
    "security" "VnetSecurity" NOT NULL DEFAULT 'none',
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Vnet_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Vm" (
    "id" UUID NOT NULL,
    "farmId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "hostId" UUID,
    "guestKind" "GuestKind" NOT NULL DEFAULT 'emulated',
    "locationVersion" INTEGER NOT NULL DEFAULT 1,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Vm_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Vif" (
    "id" UUID NOT NULL,
    "vmId" UUID NOT NULL,
    "vnetId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "mac" TEXT NOT NULL,
    "ip" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Vif_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Router" (
    "id" UUID NOT NULL,
    "farmId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "hostId" UUID,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Router_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "RouterInterface" (
    "id" UUID NOT NULL,
    "routerId" UUID NOT NULL,
    "vnetId" UUID NOT NULL,
    "ip" TEXT NOT NULL,
    "prefixLen" INTEGER NOT NULL,
    "mac" TEXT NOT NULL,
    "rip" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "RouterInterface_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "StaticRoute" (
    "id" UUID NOT NULL,
    "routerId" UUID NOT NULL,
    "destination" TEXT NOT NULL,
    "nextHop" TEXT NOT NULL,
    "metric" INTEGER NOT NULL DEFAULT 1,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "StaticRoute_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "RouterLink" (
    "id" UUID NOT NULL,
    "farmId" UUID NOT NULL,
    "routerAId" UUID NOT NULL,
    "routerBId" UUID NOT NULL,
    "cidr" TEXT NOT NULL,
    "ipA" TEXT NOT NULL,
    "ipB" TEXT NOT NULL,
    "rip" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "RouterLink_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "Firewall" (
    "id" UUID NOT NULL,
    "farmId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "hostId" UUID,
    "defaultPolicy" "FirewallAction" NOT NULL DEFAULT 'deny',
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "Firewall_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "FirewallInterface" (
    "id" UUID NOT NULL,
    "firewallId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "vnetId" UUID NOT NULL,
    "ip" TEXT NOT NULL,
    "prefixLen" INTEGER NOT NULL,
    "mac" TEXT NOT NULL,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "FirewallInterface_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "FirewallRule" (
    "id" UUID NOT NULL,
    "firewallId" UUID NOT NULL,
    "position" INTEGER NOT NULL,
    "action" "FirewallAction" NOT NULL,
    "protocol" "FirewallProtocol" NOT NULL DEFAULT 'any',
    "source" TEXT NOT NULL DEFAULT '0.0.0.0/0',
    "destination" TEXT NOT NULL DEFAULT '0.0.0.0/0',
    "portFrom" INTEGER,
    "portTo" INTEGER,
    "interfaceId" UUID,
    "log" BOOLEAN NOT NULL DEFAULT false,
    "description" TEXT NOT NULL DEFAULT '',
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "FirewallRule_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "FarmRevision" (
    "id" UUID NOT NULL,
    "farmId" UUID NOT NULL,
    "revision" INTEGER NOT NULL,
    "snapshot" JSONB NOT NULL,
    "createdById" UUID,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "FarmRevision_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "DesignerLayout" (
    "farmId" UUID NOT NULL,
    "positions" JSONB NOT NULL DEFAULT '{}',
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "DesignerLayout_pkey" PRIMARY KEY ("farmId")
);

-- CreateTable
CREATE TABLE "AuditLog" (
    "id" BIGSERIAL NOT NULL,
    "tenantId" UUID,
    "actorId" UUID,
    "actorKind" TEXT NOT NULL,
    "actorName" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "entity" TEXT NOT NULL,
    "entityId" TEXT,
    "before" JSONB,
    "after" JSONB,
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "AuditLog_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "Tenant_name_key" ON "Tenant"("name");

-- CreateIndex
CREATE UNIQUE INDEX "User_username_key" ON "User"("username");

-- CreateIndex
CREATE UNIQUE INDEX "Session_tokenHash_key" ON "Session"("tokenHash");

-- CreateIndex
CREATE INDEX "Session_userId_idx" ON "Session"("userId");

-- CreateIndex
CREATE UNIQUE INDEX "ApiToken_tokenHash_key" ON "ApiToken"("tokenHash");

-- CreateIndex
CREATE INDEX "ApiToken_userId_idx" ON "ApiToken"("userId");

-- CreateIndex
CREATE UNIQUE INDEX "LanSegment_name_key" ON "LanSegment"("name");

-- CreateIndex
CREATE UNIQUE INDEX "LanSegment_relayHostId_key" ON "LanSegment"("relayHostId");

-- CreateIndex
CREATE UNIQUE INDEX "Host_name_key" ON "Host"("name");

-- CreateIndex
CREATE UNIQUE INDEX "Host_address_key" ON "Host"("address");

-- CreateIndex
CREATE UNIQUE INDEX "Host_credentialHash_key" ON "Host"("credentialHash");

-- CreateIndex
CREATE UNIQUE INDEX "EnrollmentToken_tokenHash_key" ON "EnrollmentToken"("tokenHash");

-- CreateIndex
CREATE INDEX "EnrollmentToken_hostId_idx" ON "EnrollmentToken"("hostId");

-- CreateIndex
CREATE UNIQUE INDEX "Farm_tenantId_name_key" ON "Farm"("tenantId", "name");

-- CreateIndex
CREATE UNIQUE INDEX "Vnet_vnid_key" ON "Vnet"("vnid");

-- CreateIndex
CREATE UNIQUE INDEX "Vnet_farmId_name_key" ON "Vnet"("farmId", "name");

-- CreateIndex
CREATE INDEX "Vm_hostId_idx" ON "Vm"("hostId");

-- CreateIndex
CREATE UNIQUE INDEX "Vm_farmId_name_key" ON "Vm"("farmId", "name");

-- CreateIndex
CREATE UNIQUE INDEX "Vif_vmId_name_key" ON "Vif"("vmId", "name");

-- CreateIndex
CREATE UNIQUE INDEX "Vif_vnetId_mac_key" ON "Vif"("vnetId", "mac");

-- CreateIndex
CREATE UNIQUE INDEX "Vif_vnetId_ip_key" ON "Vif"("vnetId", "ip");

-- CreateIndex
CREATE UNIQUE INDEX "Router_farmId_name_key" ON "Router"("farmId", "name");

-- CreateIndex
CREATE UNIQUE INDEX "RouterInterface_routerId_vnetId_key" ON "RouterInterface"("routerId", "vnetId");

-- CreateIndex
CREATE UNIQUE INDEX "RouterInterface_vnetId_mac_key" ON "RouterInterface"("vnetId", "mac");

-- CreateIndex
CREATE UNIQUE INDEX "RouterInterface_vnetId_ip_key" ON "RouterInterface"("vnetId", "ip");

-- CreateIndex
CREATE UNIQUE INDEX "StaticRoute_routerId_destination_key" ON "StaticRoute"("routerId", "destination");

-- CreateIndex
CREATE UNIQUE INDEX "RouterLink_routerAId_routerBId_key" ON "RouterLink"("routerAId", "routerBId");

-- CreateIndex
CREATE UNIQUE INDEX "Firewall_farmId_name_key" ON "Firewall"("farmId", "name");

-- CreateIndex
CREATE UNIQUE INDEX "FirewallInterface_firewallId_name_key" ON "FirewallInterface"("firewallId", "name");

-- CreateIndex
CREATE UNIQUE INDEX "FirewallInterface_firewallId_vnetId_key" ON "FirewallInterface"("firewallId", "vnetId");

-- CreateIndex
CREATE UNIQUE INDEX "FirewallInterface_vnetId_mac_key" ON "FirewallInterface"("vnetId", "mac");

-- CreateIndex
CREATE UNIQUE INDEX "FirewallInterface_vnetId_ip_key" ON "FirewallInterface"("vnetId", "ip");

-- CreateIndex
CREATE INDEX "FirewallRule_firewallId_position_idx" ON "FirewallRule"("firewallId", "position");

-- CreateIndex
CREATE UNIQUE INDEX "FarmRevision_farmId_revision_key" ON "FarmRevision"("farmId", "revision");

-- CreateIndex
CREATE INDEX "AuditLog_tenantId_createdAt_idx" ON "AuditLog"("tenantId", "createdAt");

-- CreateIndex
CREATE INDEX "AuditLog_entity_entityId_idx" ON "AuditLog"("entity", "entityId");

-- AddForeignKey
ALTER TABLE "User" ADD CONSTRAINT "User_tenantId_fkey" FOREIGN KEY ("tenantId") REFERENCES "Tenant"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Session" ADD CONSTRAINT "Session_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ApiToken" ADD CONSTRAINT "ApiToken_tenantId_fkey" FOREIGN KEY ("tenantId") REFERENCES "Tenant"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "ApiToken" ADD CONSTRAINT "ApiToken_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "LanSegment" ADD CONSTRAINT "LanSegment_relayHostId_fkey" FOREIGN KEY ("relayHostId") REFERENCES "Host"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Host" ADD CONSTRAINT "Host_segmentId_fkey" FOREIGN KEY ("segmentId") REFERENCES "LanSegment"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "EnrollmentToken" ADD CONSTRAINT "EnrollmentToken_hostId_fkey" FOREIGN KEY ("hostId") REFERENCES "Host"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Farm" ADD CONSTRAINT "Farm_tenantId_fkey" FOREIGN KEY ("tenantId") REFERENCES "Tenant"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Vnet" ADD CONSTRAINT "Vnet_farmId_fkey" FOREIGN KEY ("farmId") REFERENCES "Farm"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Vm" ADD CONSTRAINT "Vm_farmId_fkey" FOREIGN KEY ("farmId") REFERENCES "Farm"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Vm" ADD CONSTRAINT "Vm_hostId_fkey" FOREIGN KEY ("hostId") REFERENCES "Host"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Vif" ADD CONSTRAINT "Vif_vmId_fkey" FOREIGN KEY ("vmId") REFERENCES "Vm"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Vif" ADD CONSTRAINT "Vif_vnetId_fkey" FOREIGN KEY ("vnetId") REFERENCES "Vnet"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Router" ADD CONSTRAINT "Router_farmId_fkey" FOREIGN KEY ("farmId") REFERENCES "Farm"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Router" ADD CONSTRAINT "Router_hostId_fkey" FOREIGN KEY ("hostId") REFERENCES "Host"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RouterInterface" ADD CONSTRAINT "RouterInterface_routerId_fkey" FOREIGN KEY ("routerId") REFERENCES "Router"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RouterInterface" ADD CONSTRAINT "RouterInterface_vnetId_fkey" FOREIGN KEY ("vnetId") REFERENCES "Vnet"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "StaticRoute" ADD CONSTRAINT "StaticRoute_routerId_fkey" FOREIGN KEY ("routerId") REFERENCES "Router"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RouterLink" ADD CONSTRAINT "RouterLink_farmId_fkey" FOREIGN KEY ("farmId") REFERENCES "Farm"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RouterLink" ADD CONSTRAINT "RouterLink_routerAId_fkey" FOREIGN KEY ("routerAId") REFERENCES "Router"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "RouterLink" ADD CONSTRAINT "RouterLink_routerBId_fkey" FOREIGN KEY ("routerBId") REFERENCES "Router"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Firewall" ADD CONSTRAINT "Firewall_farmId_fkey" FOREIGN KEY ("farmId") REFERENCES "Farm"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Firewall" ADD CONSTRAINT "Firewall_hostId_fkey" FOREIGN KEY ("hostId") REFERENCES "Host"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "FirewallInterface" ADD CONSTRAINT "FirewallInterface_firewallId_fkey" FOREIGN KEY ("firewallId") REFERENCES "Firewall"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "FirewallInterface" ADD CONSTRAINT "FirewallInterface_vnetId_fkey" FOREIGN KEY ("vnetId") REFERENCES "Vnet"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "FirewallRule" ADD CONSTRAINT "FirewallRule_firewallId_fkey" FOREIGN KEY ("firewallId") REFERENCES "Firewall"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "FirewallRule" ADD CONSTRAINT "FirewallRule_interfaceId_fkey" FOREIGN KEY ("interfaceId") REFERENCES "FirewallInterface"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "FarmRevision" ADD CONSTRAINT "FarmRevision_farmId_fkey" FOREIGN KEY ("farmId") REFERENCES "Farm"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "DesignerLayout" ADD CONSTRAINT "DesignerLayout_farmId_fkey" FOREIGN KEY ("farmId") REFERENCES "Farm"("id") ON DELETE CASCADE ON UPDATE CASCADE;
