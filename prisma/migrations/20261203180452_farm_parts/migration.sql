-- Router links across hosts travel on a vnet of their own. Its id is the
-- link's, taken once from a sequence counting down from 0xfffffffe: above
-- every farm's vnet (those stay below 0xff000000), unique across farms and
-- tenants by construction. Existing links are numbered as the column is added.
CREATE SEQUENCE "RouterLink_vnid_seq" AS BIGINT INCREMENT BY -1 MINVALUE 4278190080 MAXVALUE 4294967294 START WITH 4294967294 NO CYCLE;
ALTER TABLE "RouterLink" ADD COLUMN "vnid" BIGINT NOT NULL DEFAULT nextval('"RouterLink_vnid_seq"'::regclass);
ALTER SEQUENCE "RouterLink_vnid_seq" OWNED BY "RouterLink"."vnid";
CREATE UNIQUE INDEX "RouterLink_vnid_key" ON "RouterLink"("vnid");

-- A deployed farm's part of the hosts' desired states, at its deployed
-- revision: a deploy recompiles only the farm it changes.
CREATE TABLE "FarmContribution" (
    "farmId" UUID NOT NULL,
    "revision" INTEGER NOT NULL,
    "format" INTEGER NOT NULL,
    "hostIds" TEXT[] NOT NULL,
    "unknownHosts" TEXT[] NOT NULL,
    "part" JSONB NOT NULL,
    "warnings" JSONB NOT NULL,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "FarmContribution_pkey" PRIMARY KEY ("farmId")
);

ALTER TABLE "FarmContribution" ADD CONSTRAINT "FarmContribution_farmId_fkey" FOREIGN KEY ("farmId") REFERENCES "Farm"("id") ON DELETE CASCADE ON UPDATE CASCADE;
