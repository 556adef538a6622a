-- Why a live migration's finish failed (vm.migrate live): the message and
-- when, when the destination's reports may try again (null with a message:
-- stopped until an operator retries or cancels the move), and how many tries
-- failed (the backoff). Cleared when the move is finished, retried or cancelled.
ALTER TABLE "Vm" ADD COLUMN "migrationError" TEXT,
ADD COLUMN "migrationErrorAt" TIMESTAMPTZ(3),
ADD COLUMN "migrationRetryAt" TIMESTAMPTZ(3),
ADD COLUMN "migrationFailures" INTEGER NOT NULL DEFAULT 0;
