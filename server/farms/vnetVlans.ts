// VLAN bridges of a vnet: on a given host the vnet is bridged to IEEE 802.1Q
// VLAN `vid` on interface `interface` (docs/agent-state.md "VLAN interface").
// Farm intent like everything else: deployed with the farm, one per host.
import { conflict, notFound } from '../errors.ts';
import type { UserActor } from '../auth/actors.ts';
import { resolveHost, type ServiceCtx, type Tx } from './farmAccess.ts';
import { requireObjectRoom, requireRoom } from './farmLimits.ts';
import type { VnetView } from './farmShapes.ts';
import { toVnetView, vnetSelect } from './farmViews.ts';
import { checkInterfaceName, checkVid } from './validate.ts';
import { editFarm } from './farmEdit.ts';

async function requireVnet(tx: Tx, actor: UserActor, id: string) {
  const v = await tx.vnet.findFirst({
    where: { id, farm: { tenantId: actor.tenantId } },
    select: { ...vnetSelect, farm: { select: { id: true, tenantId: true } } },
  });
  if (!v) throw notFound('vnet', 'id');
  const { farm, ...row } = v;
  return { farm, before: toVnetView(row) };
}

export interface SetVlanInput {
  id: string;
  expectedRevision: number;
  hostId: string;
  interface: string;
  vid: number;
}

/** Bridges the vnet to a VLAN on one host, replacing the bridge it had there. */
export async function setVnetVlan(o: ServiceCtx & SetVlanInput): Promise<{ farmRevision: number; vnet: VnetView }> {
  return editFarm(o, async ({ tx, bump }) => {
    const { farm, before } = await requireVnet(tx, o.actor, o.id);
    await bump(farm);
    const iface = checkInterfaceName('interface', o.interface);
    const vid = checkVid('vid', o.vid);
    const hostId = (await resolveHost(tx, o.hostId, 'hostId'))!;
    // Setting it again on a host replaces the bridge there: only a new host adds one.
    if (!before.vlans.some((l) => l.hostId === hostId)) {
      await requireRoom(tx, farm.id, 'vlans', 1, 'hostId');
      requireObjectRoom('vlansPerVnet', `vnet ${before.name}`, before.vlans.length, 'VLAN bridges', 'hostId');
    }
    // A VLAN on a host interface carries one vnet, whichever farm or tenant holds the other one.
    const other = await tx.vnetVlan.findFirst({
      where: { hostId, interface: iface, vid, vnetId: { not: o.id } },
      select: { vnet: { select: { name: true, farm: { select: { tenantId: true } } } } },
    });
    if (other) {
      const whose = other.vnet.farm.tenantId === o.actor.tenantId ? `vnet ${other.vnet.name}` : 'a vnet of another tenant';
      throw conflict('vid', `VLAN ${vid} on this host's ${iface} already carries ${whose}`);
    }
    await tx.vnetVlan.upsert({
      where: { vnetId_hostId: { vnetId: o.id, hostId } },
      create: { vnetId: o.id, hostId, interface: iface, vid },
      update: { interface: iface, vid },
      select: { id: true },
    });
    const vnet = toVnetView(await tx.vnet.findUniqueOrThrow({ where: { id: o.id }, select: vnetSelect }));
    return { result: { vnet }, audit: { action: 'vnet.setVlan', entity: 'vnet', entityId: o.id, before, after: vnet } };
  });
}

/** Removes the vnet's VLAN bridge on one host. */
export async function removeVnetVlan(
  o: ServiceCtx & { id: string; expectedRevision: number; hostId: string },
): Promise<{ farmRevision: number; vnet: VnetView }> {
  return editFarm(o, async ({ tx, bump }) => {
    const { farm, before } = await requireVnet(tx, o.actor, o.id);
    await bump(farm);
    const gone = await tx.vnetVlan.deleteMany({ where: { vnetId: o.id, hostId: o.hostId } });
    if (gone.count === 0) throw notFound('VLAN bridge', 'hostId');
    const vnet = toVnetView(await tx.vnet.findUniqueOrThrow({ where: { id: o.id }, select: vnetSelect }));
    return { result: { vnet }, audit: { action: 'vnet.removeVlan', entity: 'vnet', entityId: o.id, before, after: vnet } };
  });
}
