-- CreateTable: where each VM was last deployed and the location version its
-- hosts were given there, stored by the deploy that gives it.
CREATE TABLE "VmLocation" (
    "vmId" TEXT NOT NULL,
    "hostId" UUID NOT NULL,
    "version" INTEGER NOT NULL,
    "updatedAt" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "VmLocation_pkey" PRIMARY KEY ("vmId")
);

-- Existing deployments: each VM's location as the hosts' stored states have it
-- now (the VIFs of a VM carry its version), so no running VM changes version.
INSERT INTO "VmLocation" ("vmId", "hostId", "version", "updatedAt")
SELECT DISTINCT ON (v."vmId") v."vmId"::text, s."hostId", (e->>'version')::int, CURRENT_TIMESTAMP
FROM "HostDesiredState" s
CROSS JOIN LATERAL jsonb_array_elements(COALESCE(s."state"->'vifs', '[]'::jsonb)) AS e
JOIN "Vif" v ON v."id"::text = e->>'id'
WHERE e ? 'version'
ORDER BY v."vmId", (e->>'version')::int DESC;
