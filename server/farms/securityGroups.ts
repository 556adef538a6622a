// Security groups (docs/security-groups.md): named sets of stateful rules
// per farm, rules allowing traffic in one direction to or from a CIDR or the
// members of a group of the same farm, and VIFs' memberships. Every change is
// one farm edit (editFarm). A farm in mode `default` keeps a group named
// `default` (Neutron's rules) that new VIFs join; in mode `none` nothing is
// created or assigned. Longer than 300 lines because groups, their rules,
// memberships and the mode are one entity's edits and share its lookups.
import type { UserActor } from '../auth/actors.ts';
import { badRequest, conflict, notFound } from '../errors.ts';
import { checkCursor, ORDER_BY_CREATED, pageArgs, toPage } from '../db/listPage.ts';
import { SG_MAX_PER_VIF, SG_MAX_RULES } from '../../contract/limits.ts';
import { requireFarm, type ServiceCtx, type Tx } from './farmAccess.ts';
import { editFarm } from './farmEdit.ts';
import { checkHostBounds } from './securityGroupBounds.ts';
import { requireRoom } from './farmLimits.ts';
import type { SecurityGroupView, VifView } from './farmShapes.ts';
import { loadSecurityGroups, securityGroupSelect, toSecurityGroupView, toVifView, vifSelect } from './farmViews.ts';
import {
  checkSecurityRule, DEFAULT_GROUP, defaultGroupRules, type NormalSecurityRule, type SecurityGroupModeName, type SecurityRuleInput,
} from './securityRules.ts';

const farmOfSelect = { farm: { select: { id: true, tenantId: true, name: true, securityGroupMode: true } } } as const;

async function requireGroup(tx: Tx, actor: UserActor, id: string, field = 'id') {
  const g = await tx.securityGroup.findFirst({
    where: { id, farm: { tenantId: actor.tenantId } },
    select: { ...securityGroupSelect, ...farmOfSelect },
  });
  if (!g) throw notFound('security group', field);
  return g;
}

async function viewOf(tx: Tx, farmId: string, id: string): Promise<SecurityGroupView> {
  const g = (await loadSecurityGroups(tx, farmId)).find((x) => x.id === id);
  if (!g) throw notFound('security group', 'id');
  return g;
}

/** An API rule: the remote group given by id. */
export interface ApiSecurityRuleInput extends Omit<SecurityRuleInput, 'remoteGroup'> {
  remoteGroupId?: string | null | undefined;
}

/** Checks a rule given through the API; its remote group must be a group of `farm`. */
async function checkApiRule(tx: Tx, farm: { id: string; name: string }, rule: ApiSecurityRuleInput, base: string): Promise<NormalSecurityRule> {
  const field = (n: string) => `${base}${n === 'remoteGroup' ? 'remoteGroupId' : n}`;
  const { remoteGroupId, ...rest } = rule;
  const r = checkSecurityRule({ ...rest, remoteGroup: remoteGroupId }, field);
  if (r.remoteGroup !== null) {
    const g = await tx.securityGroup.findFirst({ where: { id: r.remoteGroup, farmId: farm.id }, select: { id: true } });
    if (!g) throw badRequest(field('remoteGroupId'), `no security group with this id in farm ${farm.name}; a remote group must be of the same farm`);
  }
  return r;
}

const ruleData = (r: NormalSecurityRule) => ({
  direction: r.direction, protocol: r.protocol, portFrom: r.portFrom, portTo: r.portTo, icmpType: r.icmpType, icmpCode: r.icmpCode,
  remoteCidr: r.remoteCidr, remoteGroupId: r.remoteGroup, description: r.description,
});

async function requireGroupNameFree(tx: Tx, farmId: string, name: string, exceptId?: string, field = 'name') {
  const hit = await tx.securityGroup.findFirst({ where: { farmId, name, ...(exceptId ? { NOT: { id: exceptId } } : {}) }, select: { id: true } });
  if (hit) throw conflict(field, `a security group named "${name}" already exists in this farm`);
}

/** The farm's `default` group, created with Neutron's rules when it has none. */
export async function ensureDefaultGroup(tx: Tx, farmId: string): Promise<string> {
  const found = await tx.securityGroup.findFirst({ where: { farmId, name: DEFAULT_GROUP }, select: { id: true } });
  if (found) return found.id;
  const g = await tx.securityGroup.create({
    data: { farmId, name: DEFAULT_GROUP, description: 'members reach each other; all outgoing traffic allowed' },
    select: { id: true },
  });
  await tx.securityRule.createMany({ data: defaultGroupRules(g.id).map((r, position) => ({ ...ruleData(r), groupId: g.id, position })) });
  return g.id;
}

/** New VIFs of a farm in mode `default` join its `default` group; in mode `none` nothing happens. */
export async function joinDefaultGroup(tx: Tx, farmId: string, vifIds: string[]): Promise<void> {
  if (!vifIds.length) return;
  const farm = await tx.farm.findUnique({ where: { id: farmId }, select: { securityGroupMode: true } });
  if (farm?.securityGroupMode !== 'default') return;
  const groupId = await ensureDefaultGroup(tx, farmId);
  await tx.vifSecurityGroup.createMany({ data: vifIds.map((vifId) => ({ vifId, groupId })), skipDuplicates: true });
}

export async function listSecurityGroups(o: ServiceCtx & { farmId: string; cursor?: string | undefined; limit: number }) {
  const farm = await requireFarm(o.db, o.actor, o.farmId);
  const where = { farmId: farm.id };
  await checkCursor(o.cursor, (id) => o.db.securityGroup.findFirst({ where: { ...where, id }, select: { id: true } }));
  const rows = await o.db.securityGroup.findMany({ where, select: securityGroupSelect, orderBy: ORDER_BY_CREATED, ...pageArgs(o) });
  const all = await o.db.securityGroup.findMany({ where, select: { id: true, name: true } });
  const names = new Map(all.map((g) => [g.id, g.name]));
  return toPage(rows.map((g) => toSecurityGroupView(g, names)), o);
}

export interface CreateSecurityGroupInput {
  farmId: string;
  expectedRevision: number;
  name: string;
  description?: string | undefined;
  rules?: ApiSecurityRuleInput[] | undefined;
}

export async function createSecurityGroup(o: ServiceCtx & CreateSecurityGroupInput): Promise<{ farmRevision: number; securityGroup: SecurityGroupView }> {
  return editFarm(o, async ({ tx, bump }) => {
    const farm = await requireFarm(tx, o.actor, o.farmId);
    await bump(farm);
    const rules = o.rules ?? [];
    await requireRoom(tx, farm.id, 'securityGroups', 1, 'farmId');
    await requireRoom(tx, farm.id, 'securityRules', rules.length, 'rules');
    if (rules.length > SG_MAX_RULES) throw badRequest('rules', `at most ${SG_MAX_RULES} rules in one security group (this one would have ${rules.length})`);
    await requireGroupNameFree(tx, farm.id, o.name);
    const checked: NormalSecurityRule[] = [];
    for (const [i, r] of rules.entries()) checked.push(await checkApiRule(tx, farm, r, `rules.${i}.`));
    const g = await tx.securityGroup.create({ data: { farmId: farm.id, name: o.name, description: o.description ?? '' }, select: { id: true } });
    if (checked.length) await tx.securityRule.createMany({ data: checked.map((r, position) => ({ ...ruleData(r), groupId: g.id, position })) });
    const securityGroup = await viewOf(tx, farm.id, g.id);
    return { result: { securityGroup }, audit: { action: 'securityGroup.create', entity: 'securityGroup', entityId: g.id, after: securityGroup } };
  });
}

export async function updateSecurityGroup(
  o: ServiceCtx & { id: string; expectedRevision: number; name?: string | undefined; description?: string | undefined },
): Promise<{ farmRevision: number; securityGroup: SecurityGroupView }> {
  return editFarm(o, async ({ tx, bump }) => {
    const g = await requireGroup(tx, o.actor, o.id);
    await bump(g.farm);
    const before = await viewOf(tx, g.farm.id, g.id);
    const data: { name?: string; description?: string } = {};
    if (o.name !== undefined && o.name !== g.name) {
      if (g.name === DEFAULT_GROUP && g.farm.securityGroupMode === 'default') {
        throw conflict('name', `farm ${g.farm.name} is in security group mode "default", whose new VIFs join the group named "${DEFAULT_GROUP}"; set the mode to "none" before renaming it`);
      }
      await requireGroupNameFree(tx, g.farm.id, o.name, g.id);
      data.name = o.name;
    }
    if (o.description !== undefined) data.description = o.description;
    await tx.securityGroup.update({ where: { id: g.id }, data, select: { id: true } });
    const securityGroup = await viewOf(tx, g.farm.id, g.id);
    return { result: { securityGroup }, audit: { action: 'securityGroup.update', entity: 'securityGroup', entityId: g.id, before, after: securityGroup } };
  });
}

export async function deleteSecurityGroup(o: ServiceCtx & { id: string; expectedRevision: number }): Promise<{ farmRevision: number; id: string }> {
  return editFarm(o, async ({ tx, bump }) => {
    const g = await requireGroup(tx, o.actor, o.id);
    await bump(g.farm);
    if (g.name === DEFAULT_GROUP && g.farm.securityGroupMode === 'default') {
      throw conflict('id', `farm ${g.farm.name} is in security group mode "default", which keeps this group; set the mode to "none" first`);
    }
    const users = await tx.securityRule.findMany({
      where: { remoteGroupId: g.id, NOT: { groupId: g.id } },
      select: { group: { select: { name: true } } },
    });
    if (users.length) {
      const names = [...new Set(users.map((u) => u.group.name))].sort();
      throw conflict('id', `security group ${g.name} is the remote of rules in group${names.length > 1 ? 's' : ''} ${names.join(', ')}; change those rules first`, { groups: names });
    }
    if (g.vifs.length) {
      throw conflict('id', `${g.vifs.length} VIF${g.vifs.length > 1 ? 's' : ''} still belong${g.vifs.length > 1 ? '' : 's'} to security group ${g.name}; take them out first (a VIF left in no group is not filtered)`, {
        members: g.vifs.map((v) => v.vifId),
      });
    }
    const before = await viewOf(tx, g.farm.id, g.id);
    await tx.securityGroup.delete({ where: { id: g.id }, select: { id: true } });
    return { result: { id: g.id }, audit: { action: 'securityGroup.delete', entity: 'securityGroup', entityId: g.id, before } };
  });
}

export async function addSecurityRule(
  o: ServiceCtx & ApiSecurityRuleInput & { groupId: string; expectedRevision: number },
): Promise<{ farmRevision: number; securityGroup: SecurityGroupView }> {
  return editFarm(o, async ({ tx, bump }) => {
    const g = await requireGroup(tx, o.actor, o.groupId, 'groupId');
    await bump(g.farm);
    if (g.rules.length >= SG_MAX_RULES) {
      throw conflict('groupId', `security group ${g.name} already has ${g.rules.length} rules, the most one group may hold`, { limit: SG_MAX_RULES });
    }
    await requireRoom(tx, g.farm.id, 'securityRules', 1, 'groupId');
    const { db: _db, actor: _a, groupId: _g, expectedRevision: _e, ...input } = o;
    const r = await checkApiRule(tx, g.farm, input, '');
    const position = (g.rules.at(-1)?.position ?? -1) + 1;
    const row = await tx.securityRule.create({ data: { ...ruleData(r), groupId: g.id, position }, select: { id: true } });
    if (r.remoteGroup !== null) await checkHostBounds(tx, g.farm.id, 'remoteGroupId');
    const securityGroup = await viewOf(tx, g.farm.id, g.id);
    return {
      result: { securityGroup },
      audit: { action: 'securityGroup.addRule', entity: 'securityGroup', entityId: g.id, after: securityGroup.rules.find((x) => x.id === row.id) },
    };
  });
}

async function requireRule(tx: Tx, actor: UserActor, id: string) {
  const rule = await tx.securityRule.findFirst({
    where: { id, group: { farm: { tenantId: actor.tenantId } } },
    select: { id: true, groupId: true },
  });
  if (!rule) throw notFound('security rule', 'id');
  return rule;
}

export async function updateSecurityRule(
  o: ServiceCtx & Partial<ApiSecurityRuleInput> & { id: string; expectedRevision: number },
): Promise<{ farmRevision: number; securityGroup: SecurityGroupView }> {
  return editFarm(o, async ({ tx, bump }) => {
    const { groupId } = await requireRule(tx, o.actor, o.id);
    const g = await requireGroup(tx, o.actor, groupId);
    await bump(g.farm);
    const current = g.rules.find((r) => r.id === o.id)!;
    // A remote given replaces the current one, whichever kind either is.
    const remoteGiven = o.remoteCidr !== undefined || o.remoteGroupId !== undefined;
    const pick = <K extends keyof ApiSecurityRuleInput & keyof typeof current>(k: K) => (o[k] !== undefined ? o[k] : current[k]);
    const merged: ApiSecurityRuleInput = {
      direction: o.direction ?? current.direction,
      protocol: o.protocol ?? current.protocol,
      portFrom: pick('portFrom'),
      portTo: pick('portTo'),
      icmpType: pick('icmpType'),
      icmpCode: pick('icmpCode'),
      remoteCidr: remoteGiven ? (o.remoteCidr ?? null) : current.remoteCidr,
      remoteGroupId: remoteGiven ? (o.remoteGroupId ?? null) : current.remoteGroupId,
      description: o.description ?? current.description,
    };
    const r = await checkApiRule(tx, g.farm, merged, '');
    const before = await viewOf(tx, g.farm.id, g.id);
    await tx.securityRule.update({ where: { id: o.id }, data: ruleData(r), select: { id: true } });
    if (r.remoteGroup !== null) await checkHostBounds(tx, g.farm.id, 'remoteGroupId');
    const securityGroup = await viewOf(tx, g.farm.id, g.id);
    return {
      result: { securityGroup },
      audit: {
        action: 'securityGroup.updateRule', entity: 'securityGroup', entityId: g.id,
        before: before.rules.find((x) => x.id === o.id), after: securityGroup.rules.find((x) => x.id === o.id),
      },
    };
  });
}

export async function deleteSecurityRule(
  o: ServiceCtx & { id: string; expectedRevision: number },
): Promise<{ farmRevision: number; securityGroup: SecurityGroupView }> {
  return editFarm(o, async ({ tx, bump }) => {
    const { groupId } = await requireRule(tx, o.actor, o.id);
    const g = await requireGroup(tx, o.actor, groupId);
    await bump(g.farm);
    const before = (await viewOf(tx, g.farm.id, g.id)).rules.find((x) => x.id === o.id);
    await tx.securityRule.delete({ where: { id: o.id }, select: { id: true } });
    const securityGroup = await viewOf(tx, g.farm.id, g.id);
    return { result: { securityGroup }, audit: { action: 'securityGroup.deleteRule', entity: 'securityGroup', entityId: g.id, before } };
  });
}

/**
 * Replaces a VIF's groups; each must be a group of the VIF's farm. An empty
 * list in a farm of mode `default` leaves the VIF filtered with nothing
 * allowed (quarantined); in mode `none` it leaves the VIF unfiltered.
 */
export async function setVifSecurityGroups(
  o: ServiceCtx & { vifId: string; expectedRevision: number; groupIds: string[] },
): Promise<{ farmRevision: number; vif: VifView }> {
  return editFarm(o, async ({ tx, bump }) => {
    const vif = await tx.vif.findFirst({
      where: { id: o.vifId, vm: { farm: { tenantId: o.actor.tenantId } } },
      select: { ...vifSelect, vm: { select: { name: true, farm: { select: { id: true, tenantId: true, name: true } } } } },
    });
    if (!vif) throw notFound('VIF', 'vifId');
    const farm = vif.vm.farm;
    await bump(farm);
    if (o.groupIds.length > SG_MAX_PER_VIF) {
      throw badRequest('groupIds', `a VIF belongs to at most ${SG_MAX_PER_VIF} security groups (this list has ${o.groupIds.length})`);
    }
    const groups = o.groupIds.length
      ? await tx.securityGroup.findMany({ where: { id: { in: o.groupIds }, farmId: farm.id }, select: { id: true } })
      : [];
    const inFarm = new Set(groups.map((g) => g.id));
    const seen = new Set<string>();
    o.groupIds.forEach((id, i) => {
      if (seen.has(id)) throw badRequest(`groupIds.${i}`, 'this group is listed twice');
      seen.add(id);
      if (!inFarm.has(id)) throw badRequest(`groupIds.${i}`, `no security group with this id in farm ${farm.name}; a VIF joins groups of its own farm`);
    });
    const before = toVifView(vif);
    await tx.vifSecurityGroup.deleteMany({ where: { vifId: vif.id } });
    if (o.groupIds.length) await tx.vifSecurityGroup.createMany({ data: o.groupIds.map((groupId) => ({ vifId: vif.id, groupId })) });
    await checkHostBounds(tx, farm.id, 'groupIds');
    const row = await tx.vif.findUnique({ where: { id: vif.id }, select: vifSelect });
    const after = toVifView(row!);
    return {
      result: { vif: after },
      audit: { action: 'vif.setSecurityGroups', entity: 'vif', entityId: vif.id, before: before.securityGroups, after: after.securityGroups },
    };
  });
}

/**
 * The farm's security group mode. `default` creates the `default` group if
 * the farm has none (VIFs that exist keep their groups; new ones join it);
 * `none` keeps every group and membership and stops new VIFs joining.
 */
export async function setSecurityGroupMode(
  o: ServiceCtx & { farmId: string; expectedRevision: number; mode: SecurityGroupModeName },
): Promise<{ farmRevision: number; securityGroupMode: SecurityGroupModeName; securityGroups: SecurityGroupView[] }> {
  return editFarm(o, async ({ tx, bump }) => {
    const farm = await requireFarm(tx, o.actor, o.farmId);
    await bump(farm);
    const row = await tx.farm.findUnique({ where: { id: farm.id }, select: { securityGroupMode: true } });
    if (o.mode === 'default') {
      const has = await tx.securityGroup.findFirst({ where: { farmId: farm.id, name: DEFAULT_GROUP }, select: { id: true } });
      if (!has) await requireRoom(tx, farm.id, 'securityGroups', 1, 'mode');
      await ensureDefaultGroup(tx, farm.id);
    }
    await tx.farm.update({ where: { id: farm.id }, data: { securityGroupMode: o.mode }, select: { id: true } });
    const securityGroups = await loadSecurityGroups(tx, farm.id);
    return {
      result: { securityGroupMode: o.mode, securityGroups },
      audit: { action: 'farm.setSecurityGroupMode', entity: 'farm', entityId: farm.id, before: row?.securityGroupMode, after: o.mode },
    };
  });
}
