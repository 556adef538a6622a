-- A VM's live migration under way (vm.migrate with live: true): the host its
-- VIFs are attached to incoming, who started it and when; cleared when the
-- destination reports the VIF active (the move is finished) or on cancel.
ALTER TABLE "Vm" ADD COLUMN "migratingToHostId" UUID,
ADD COLUMN "migrationById" UUID,
ADD COLUMN "migrationStartedAt" TIMESTAMPTZ(3);

CREATE INDEX "Vm_migratingToHostId_idx" ON "Vm"("migratingToHostId");
