// Virtual firewalls: multi-homed nodes (outside, dmz, inside, ...) with an
// ordered rule list evaluated first match wins, then a default policy.
import { badRequest, conflict, notFound } from '../errors.ts';
import type { UserActor } from '../auth/actors.ts';
import {
  requireFarm, requireNameFree, resolveHost, type ServiceCtx, type Tx,
} from './farmAccess.ts';
import { requireObjectRoom, requireRoom } from './farmLimits.ts';
import type { FirewallInterfaceView, FirewallView } from './farmShapes.ts';
import { firewallInterfaceSelect, firewallSelect, toFirewallView } from './farmViews.ts';
import { firewallLabel } from './ipam.ts';
import { checkRule, interfacePrefix, type Connected, type RuleInput } from './intentRules.ts';
import { editFarm } from './farmEdit.ts';
import { checkCursor, ORDER_BY_CREATED, pageArgs, toPage } from '../db/listPage.ts';
import { requireIpv4 } from './validate.ts';
import { fieldAt, planNodeInterfaces, type NodeInterfaceInput } from './nodeInterfaces.ts';

type Policy = FirewallView['defaultPolicy'];

export async function requireFirewall(tx: Tx, actor: UserActor, id: string, field = 'id') {
  const f = await tx.firewall.findFirst({
    where: { id, farm: { tenantId: actor.tenantId } },
    select: { ...firewallSelect, farm: { select: { id: true, tenantId: true } } },
  });
  if (!f) throw notFound('firewall', field);
  return f;
}

export async function listFirewalls(o: ServiceCtx & { farmId: string; cursor?: string | undefined; limit: number }) {
  await requireFarm(o.db, o.actor, o.farmId);
  const where = { farmId: o.farmId };
  await checkCursor(o.cursor, (id) => o.db.firewall.findFirst({ where: { ...where, id }, select: { id: true } }));
  const rows = await o.db.firewall.findMany({ where, select: firewallSelect, orderBy: ORDER_BY_CREATED, ...pageArgs(o) });
  return toPage(rows.map(toFirewallView), o);
}

export async function getFirewall(o: ServiceCtx & { id: string }): Promise<FirewallView> {
  const { farm: _farm, ...f } = await requireFirewall(o.db, o.actor, o.id);
  return toFirewallView(f);
}

export interface FirewallInterfaceInput extends NodeInterfaceInput {
  name: string;
}

type ExistingInterface = Pick<FirewallInterfaceView, 'name' | 'vnetId' | 'ip' | 'prefixLen'>;

/** New interfaces: unique names, distinct vnets, addresses, non-overlapping prefixes. */
async function planInterfaces(
  tx: Tx,
  farmId: string,
  firewall: string,
  existing: ExistingInterface[],
  wanted: { input: FirewallInterfaceInput; base: string }[],
) {
  const names = new Set(existing.map((e) => e.name));
  const existingVnets = existing.length
    ? await tx.vnet.findMany({ where: { id: { in: existing.map((e) => e.vnetId) } }, select: { id: true, name: true } })
    : [];
  const vnetNames = new Map(existingVnets.map((v) => [v.id, v.name]));
  const connected: Connected[] = existing.map((e) => {
    const ip = requireIpv4('ip', e.ip);
    const vnetName = vnetNames.get(e.vnetId) ?? e.vnetId;
    return { vnet: e.vnetId, vnetName, prefix: interfacePrefix('ip', ip, e.prefixLen), ip, fieldVnet: 'vnetId', fieldIp: 'ip' };
  });
  const planned = await planNodeInterfaces(tx, {
    farmId, node: `firewall ${firewall}`, existing: connected, wanted,
    label: (input) => firewallLabel(firewall, input.name),
    check: (input, base) => {
      if (names.has(input.name)) throw conflict(fieldAt(base, 'name'), `firewall ${firewall} already has an interface named ${input.name}`);
      names.add(input.name);
    },
  });
  return planned.map((p) => ({ name: p.input.name, vnetId: p.vnet.id, ip: p.ip, prefixLen: p.prefixLen, mac: p.mac }));
}

/** Replaces a firewall's rules with `rules`, in order; interface names resolved to ids. */
async function writeRules(tx: Tx, firewallId: string, firewall: string, rules: RuleInput[], base: string) {
  const ifaces = await tx.firewallInterface.findMany({ where: { firewallId }, select: { id: true, name: true } });
  const names = ifaces.map((i) => i.name);
  const byName = new Map(ifaces.map((i) => [i.name, i.id]));
  const checked = rules.map((r, i) => checkRule(r, names, firewall, (n) => `${base}.${i}.${n}`));
  await tx.firewallRule.deleteMany({ where: { firewallId } });
  if (checked.length) {
    await tx.firewallRule.createMany({
      data: checked.map(({ interface: iface, ...r }, position) => ({
        ...r, firewallId, position, interfaceId: iface === null ? null : byName.get(iface)!,
      })),
    });
  }
}

export interface CreateFirewallInput {
  farmId: string;
  expectedRevision: number;
  name: string;
  hostId?: string | null | undefined;
  defaultPolicy?: Policy | undefined;
  interfaces?: FirewallInterfaceInput[] | undefined;
  rules?: RuleInput[] | undefined;
}

export async function createFirewall(o: ServiceCtx & CreateFirewallInput): Promise<{ farmRevision: number; firewall: FirewallView }> {
  return editFarm(o, async ({ tx, bump }) => {
    const farm = await requireFarm(tx, o.actor, o.farmId);
    await bump(farm);
    await requireRoom(tx, farm.id, 'firewalls', 1, 'farmId');
    await requireRoom(tx, farm.id, 'firewallInterfaces', o.interfaces?.length ?? 0, 'interfaces');
    await requireRoom(tx, farm.id, 'firewallRules', o.rules?.length ?? 0, 'rules');
    await requireNameFree(tx, 'firewall', farm.id, o.name);
    const hostId = await resolveHost(tx, o.hostId);
    const ifaces = await planInterfaces(tx, farm.id, o.name, [], (o.interfaces ?? []).map((input, i) => ({ input, base: `interfaces.${i}` })));
    const created = await tx.firewall.create({
      data: { farmId: farm.id, name: o.name, hostId, defaultPolicy: o.defaultPolicy ?? 'deny', interfaces: { create: ifaces } },
      select: { id: true },
    });
    await writeRules(tx, created.id, o.name, o.rules ?? [], 'rules');
    const firewall = await viewOf(tx, created.id);
    return { result: { firewall }, audit: { action: 'firewall.create', entity: 'firewall', entityId: created.id, after: firewall } };
  });
}

async function viewOf(tx: Tx, id: string): Promise<FirewallView> {
  const row = await tx.firewall.findUnique({ where: { id }, select: firewallSelect });
  if (!row) throw notFound('firewall', 'id');
  return toFirewallView(row);
}

export async function updateFirewall(
  o: ServiceCtx & { id: string; expectedRevision: number; name?: string | undefined; hostId?: string | null | undefined; defaultPolicy?: Policy | undefined },
): Promise<{ farmRevision: number; firewall: FirewallView }> {
  return editFarm(o, async ({ tx, bump }) => {
    const { farm, ...current } = await requireFirewall(tx, o.actor, o.id);
    await bump(farm);
    const data: { name?: string; hostId?: string | null; defaultPolicy?: Policy } = {};
    if (o.name !== undefined && o.name !== current.name) {
      await requireNameFree(tx, 'firewall', farm.id, o.name, o.id);
      data.name = o.name;
    }
    if (o.hostId !== undefined) data.hostId = await resolveHost(tx, o.hostId);
    if (o.defaultPolicy !== undefined) data.defaultPolicy = o.defaultPolicy;
    const firewall = toFirewallView(await tx.firewall.update({ where: { id: o.id }, data, select: firewallSelect }));
    return {
      result: { firewall },
      audit: {
        action: 'firewall.update', entity: 'firewall', entityId: o.id, before: toFirewallView(current), after: firewall,
      },
    };
  });
}

export async function deleteFirewall(o: ServiceCtx & { id: string; expectedRevision: number }): Promise<{ farmRevision: number; id: string }> {
  return editFarm(o, async ({ tx, bump }) => {
    const { farm, ...current } = await requireFirewall(tx, o.actor, o.id);
    await bump(farm);
    await tx.firewall.delete({ where: { id: o.id }, select: { id: true } });
    return { result: { id: o.id }, audit: { action: 'firewall.delete', entity: 'firewall', entityId: o.id, before: toFirewallView(current) } };
  });
}

export async function addFirewallInterface(
  o: ServiceCtx & FirewallInterfaceInput & { firewallId: string; expectedRevision: number },
): Promise<{ farmRevision: number; interface: FirewallInterfaceView }> {
  return editFarm(o, async ({ tx, bump }) => {
    const fw = await requireFirewall(tx, o.actor, o.firewallId, 'firewallId');
    await bump(fw.farm);
    await requireRoom(tx, fw.farm.id, 'firewallInterfaces', 1, 'firewallId');
    requireObjectRoom('interfacesPerNode', `firewall ${fw.name}`, fw.interfaces.length, 'interfaces', 'firewallId');
    const [data] = await planInterfaces(tx, fw.farm.id, fw.name, fw.interfaces, [{ input: o, base: '' }]);
    const row = await tx.firewallInterface.create({ data: { ...data!, firewallId: fw.id }, select: firewallInterfaceSelect });
    return { result: { interface: row }, audit: { action: 'firewall.addInterface', entity: 'firewall', entityId: fw.id, after: row } };
  });
}

export async function removeFirewallInterface(
  o: ServiceCtx & { id: string; expectedRevision: number },
): Promise<{ farmRevision: number; id: string }> {
  return editFarm(o, async ({ tx, bump }) => {
    const iface = await tx.firewallInterface.findFirst({
      where: { id: o.id, firewall: { farm: { tenantId: o.actor.tenantId } } },
      select: { ...firewallInterfaceSelect, firewall: { select: { name: true, farm: { select: { id: true, tenantId: true } } } } },
    });
    if (!iface) throw notFound('firewall interface', 'id');
    const { firewall, ...before } = iface;
    await bump(firewall.farm);
    // The schema would cascade the rules away with the interface; a silent rule loss is worse than a refusal.
    const rules = await tx.firewallRule.findMany({
      where: { firewallId: before.firewallId }, select: { interfaceId: true }, orderBy: [{ position: 'asc' }, { id: 'asc' }],
    });
    const using = rules.flatMap((r, i) => (r.interfaceId === o.id ? [i] : []));
    if (using.length) {
      throw conflict('id', `rules ${using.join(', ')} of firewall ${firewall.name} match on interface ${before.name}; change them first`, {
        rules: using,
      });
    }
    await tx.firewallInterface.delete({ where: { id: o.id }, select: { id: true } });
    return { result: { id: o.id }, audit: { action: 'firewall.removeInterface', entity: 'firewall', entityId: before.firewallId, before } };
  });
}

export async function setFirewallRules(
  o: ServiceCtx & { firewallId: string; expectedRevision: number; rules: RuleInput[] },
): Promise<{ farmRevision: number; firewall: FirewallView }> {
  return editFarm(o, async ({ tx, bump }) => {
    const { farm, ...current } = await requireFirewall(tx, o.actor, o.firewallId, 'firewallId');
    await bump(farm);
    // The firewall's own rules go as the new ones come.
    await requireRoom(tx, farm.id, 'firewallRules', o.rules.length, 'rules', current.rules.length);
    await writeRules(tx, current.id, current.name, o.rules, 'rules');
    const firewall = await viewOf(tx, current.id);
    return {
      result: { firewall },
      audit: {
        action: 'firewall.setRules', entity: 'firewall', entityId: current.id,
        before: toFirewallView(current).rules, after: firewall.rules,
      },
    };
  });
}

export async function moveFirewallRule(
  o: ServiceCtx & { id: string; expectedRevision: number; position: number },
): Promise<{ farmRevision: number; firewall: FirewallView }> {
  return editFarm(o, async ({ tx, bump }) => {
    const rule = await tx.firewallRule.findFirst({
      where: { id: o.id, firewall: { farm: { tenantId: o.actor.tenantId } } },
      select: { firewallId: true },
    });
    if (!rule) throw notFound('firewall rule', 'id');
    const { farm, ...current } = await requireFirewall(tx, o.actor, rule.firewallId);
    await bump(farm);
    const order = current.rules.map((r) => r.id);
    if (!Number.isInteger(o.position) || o.position < 0 || o.position >= order.length) {
      throw badRequest('position', `${o.position} is outside 0–${order.length - 1}`);
    }
    const from = order.indexOf(o.id);
    order.splice(from, 1);
    order.splice(o.position, 0, o.id);
    const stored = new Map(current.rules.map((r) => [r.id, r.position]));
    for (const [position, id] of order.entries()) {
      if (stored.get(id) !== position) await tx.firewallRule.update({ where: { id }, data: { position }, select: { id: true } });
    }
    const firewall = await viewOf(tx, current.id);
    return {
      result: { firewall },
      audit: {
        action: 'firewall.moveRule', entity: 'firewall', entityId: current.id,
        before: { rule: o.id, position: from }, after: { rule: o.id, position: o.position },
      },
    };
  });
}
