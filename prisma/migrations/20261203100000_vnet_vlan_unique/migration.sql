-- A VLAN on a host interface carries one vnet. The service checked this before
-- writing, but two concurrent claims could both pass the check; from now on the
-- database refuses the second one.
--
-- Claims that got in twice before this migration cannot all work on the host
-- (its agent bridges a VLAN to one vnet only): the oldest claim of each VLAN
-- stays, the later ones are removed, each recorded in the audit log (entity
-- VnetVlan, action vnet.vlan.dropped, the removed row in "before") so an
-- operator can see and redo what was taken out.
INSERT INTO "AuditLog" ("tenantId", "actorKind", "actorName", "action", "entity", "entityId", "before")
SELECT f."tenantId", 'system', 'migration', 'vnet.vlan.dropped', 'VnetVlan', v."id"::text,
       json_build_object('vnetId', v."vnetId", 'hostId', v."hostId", 'interface', v."interface", 'vid', v."vid",
                         'createdAt', v."createdAt", 'reason', 'the same VLAN on this host interface was claimed earlier by another vnet')::jsonb
  FROM "VnetVlan" v
  JOIN "Vnet" n ON n."id" = v."vnetId"
  JOIN "Farm" f ON f."id" = n."farmId"
 WHERE EXISTS (SELECT 1 FROM "VnetVlan" w
                WHERE v."hostId" = w."hostId" AND v."interface" = w."interface" AND v."vid" = w."vid"
                  AND (w."createdAt", w."id") < (v."createdAt", v."id"));
DELETE FROM "VnetVlan" v
 USING "VnetVlan" w
 WHERE v."hostId" = w."hostId" AND v."interface" = w."interface" AND v."vid" = w."vid"
   AND (w."createdAt", w."id") < (v."createdAt", v."id");

-- CreateIndex
CREATE UNIQUE INDEX "VnetVlan_hostId_interface_vid_key" ON "VnetVlan"("hostId", "interface", "vid");
