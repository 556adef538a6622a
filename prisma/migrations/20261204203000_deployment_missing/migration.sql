-- A deployment counts the targets still missing, and its open targets are
-- rows found by host and generation: a report changes the count of the
-- deployments whose target generation it crosses, in its own statement,
-- instead of checking every target of every open deployment on each report.

-- AlterTable
ALTER TABLE "Deployment" ADD COLUMN     "missing" INTEGER NOT NULL DEFAULT 0;

-- CreateTable
CREATE TABLE "DeploymentTarget" (
    "deploymentId" UUID NOT NULL,
    "hostId" UUID NOT NULL,
    "generation" INTEGER NOT NULL,

    CONSTRAINT "DeploymentTarget_pkey" PRIMARY KEY ("deploymentId","hostId")
);

-- CreateIndex
CREATE INDEX "DeploymentTarget_hostId_generation_idx" ON "DeploymentTarget"("hostId", "generation");

-- AddForeignKey
ALTER TABLE "DeploymentTarget" ADD CONSTRAINT "DeploymentTarget_deploymentId_fkey" FOREIGN KEY ("deploymentId") REFERENCES "Deployment"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Deployments open at the upgrade: their targets, and how many are missing
-- (a target is missing while its host is gone or has not applied its generation).
INSERT INTO "DeploymentTarget" ("deploymentId", "hostId", "generation")
SELECT DISTINCT ON (d.id, (t->>'hostId')::uuid) d.id, (t->>'hostId')::uuid, (t->>'generation')::int
  FROM "Deployment" d, jsonb_array_elements(d.targets) t
 WHERE d."completedAt" IS NULL;
UPDATE "Deployment" d SET "missing" = (
  SELECT count(*) FROM "DeploymentTarget" t LEFT JOIN "Host" h ON h.id = t."hostId"
   WHERE t."deploymentId" = d.id AND (h.id IS NULL OR h."appliedGeneration" < t.generation))
 WHERE d."completedAt" IS NULL;
