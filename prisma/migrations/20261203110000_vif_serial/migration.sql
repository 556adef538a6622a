-- AlterTable: every VIF gets a short number unique in the deployment; a TAP
-- guest's device on its host is named after it (sdv<serial>), never after a
-- name a user chose. Existing VIFs are numbered as the column is added.
ALTER TABLE "Vif" ADD COLUMN "serial" SERIAL NOT NULL;

-- CreateIndex
CREATE UNIQUE INDEX "Vif_serial_key" ON "Vif"("serial");
