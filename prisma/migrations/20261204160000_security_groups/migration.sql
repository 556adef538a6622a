-- Security groups (docs/security-groups.md). Every existing farm gets mode
-- `none` and no group, and its VIFs belong to no group: they stay unfiltered,
-- exactly as before. Farms created through the API afterwards choose their mode
-- (`default` unless told otherwise).
CREATE TYPE "SecurityGroupMode" AS ENUM ('default', 'none');
CREATE TYPE "SecurityDirection" AS ENUM ('ingress', 'egress');

ALTER TABLE "Farm" ADD COLUMN "securityGroupMode" "SecurityGroupMode" NOT NULL DEFAULT 'none';

CREATE TABLE "SecurityGroup" (
    "id" UUID NOT NULL,
    "farmId" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "SecurityGroup_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "SecurityRule" (
    "id" UUID NOT NULL,
    "groupId" UUID NOT NULL,
    "position" INTEGER NOT NULL,
    "direction" "SecurityDirection" NOT NULL,
    "protocol" "FirewallProtocol" NOT NULL DEFAULT 'any',
    "portFrom" INTEGER,
    "portTo" INTEGER,
    "icmpType" INTEGER,
    "icmpCode" INTEGER,
    "remoteCidr" TEXT,
    "remoteGroupId" UUID,
    "description" TEXT NOT NULL DEFAULT '',
    "createdAt" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "SecurityRule_pkey" PRIMARY KEY ("id")
);

CREATE TABLE "VifSecurityGroup" (
    "vifId" UUID NOT NULL,
    "groupId" UUID NOT NULL,

    CONSTRAINT "VifSecurityGroup_pkey" PRIMARY KEY ("vifId","groupId")
);

CREATE UNIQUE INDEX "SecurityGroup_farmId_name_key" ON "SecurityGroup"("farmId", "name");
CREATE INDEX "SecurityRule_groupId_position_idx" ON "SecurityRule"("groupId", "position");
CREATE INDEX "SecurityRule_remoteGroupId_idx" ON "SecurityRule"("remoteGroupId");
CREATE INDEX "VifSecurityGroup_groupId_idx" ON "VifSecurityGroup"("groupId");

ALTER TABLE "SecurityGroup" ADD CONSTRAINT "SecurityGroup_farmId_fkey" FOREIGN KEY ("farmId") REFERENCES "Farm"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "SecurityRule" ADD CONSTRAINT "SecurityRule_groupId_fkey" FOREIGN KEY ("groupId") REFERENCES "SecurityGroup"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "SecurityRule" ADD CONSTRAINT "SecurityRule_remoteGroupId_fkey" FOREIGN KEY ("remoteGroupId") REFERENCES "SecurityGroup"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "VifSecurityGroup" ADD CONSTRAINT "VifSecurityGroup_vifId_fkey" FOREIGN KEY ("vifId") REFERENCES "Vif"("id") ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE "VifSecurityGroup" ADD CONSTRAINT "VifSecurityGroup_groupId_fkey" FOREIGN KEY ("groupId") REFERENCES "SecurityGroup"("id") ON DELETE CASCADE ON UPDATE CASCADE;
