-- A VLAN on a host interface carries one vnet. The service checked this before
-- writing, but two concurrent claims could both pass the check; from now on the
-- database refuses the second one.
--
-- Claims that got in twice before this migration cannot all work on the host
-- (its agent bridges a VLAN to one vnet only): the oldest claim of each VLAN
-- stays, the later ones are removed.
DELETE FROM "VnetVlan" v
 USING "VnetVlan" w
 WHERE v."hostId" = w."hostId" AND v."interface" = w."interface" AND v."vid" = w."vid"
   AND (w."createdAt", w."id") < (v."createdAt", v."id");

-- CreateIndex
CREATE UNIQUE INDEX "VnetVlan_hostId_interface_vid_key" ON "VnetVlan"("hostId", "interface", "vid");
