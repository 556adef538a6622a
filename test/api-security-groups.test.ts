// Security groups through the API (docs/security-groups.md): the farm's mode
// and its default group, groups, rules and VIF memberships edited as farm
// edits, every bad input refused naming its field with nothing stored, tenant
// and role scoping, the farm document (export, import, apply), and deploy:
// each host gets the groups its VIFs use, rule ids the database's, remote
// groups as address sets of their members' /32s, and a membership change reaches the hosts
// whose rules name the group. Longer than 300 lines: one farm goes through
// all of it, each step building on the last.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostState } from '../server/compile/index.ts';
import { SG_MAX_RULES } from '../contract/limits.ts';
import { setupApi, type ApiFixture, type Caller } from './api.ts';
import { expectError, stored } from './farm-fixtures.ts';

let api: ApiFixture;
let op: Caller;
let h1: string, h2: string;
let farmId: string;
let rev: number;
let front: string, back: string;
let web: { vm: string; vif: string }, app: { vm: string; vif: string }, db: { vm: string; vif: string };
let defaultGroup: string;

beforeAll(async () => {
  api = await setupApi();
  op = api.caller(api.operator);
  const mk = (name: string, address: string) => api.db.host.create({ data: { name, address }, select: { id: true } }).then((h) => h.id);
  h1 = await mk('h1', '127.0.0.2');
  h2 = await mk('h2', '127.0.0.3');
  const farm = await op.farm.create({ name: 'tiers' });
  farmId = farm.id;
  rev = farm.revision;
  const f = await op.vnet.create({ farmId, expectedRevision: rev, name: 'front', cidr: '10.1.0.0/24' });
  const b = await op.vnet.create({ farmId, expectedRevision: f.farmRevision, name: 'back', cidr: '10.2.0.0/24' });
  rev = b.farmRevision;
  front = f.vnet.id;
  back = b.vnet.id;
  const vm = async (name: string, vnetId: string, ip: string, hostId: string) => {
    const r = await op.vm.create({ farmId, expectedRevision: rev, name, hostId, vifs: [{ vnetId, ip }] });
    rev = r.farmRevision;
    return { vm: r.vm.id, vif: r.vm.vifs[0]!.id, groups: r.vm.vifs[0]!.securityGroups };
  };
  const w = await vm('web', front, '10.1.0.10', h1);
  const a = await vm('app', back, '10.2.0.10', h2);
  const d = await vm('db', back, '10.2.0.20', h2);
  web = w;
  app = a;
  db = d;
}, 60_000);
afterAll(async () => {
  await api?.drop();
});

const dropFarm = async (id: string) => op.farm.delete({ id, expectedRevision: (await op.farm.get({ id })).revision });

const mutate = <T extends { farmRevision: number }>(r: T): T => {
  rev = r.farmRevision;
  return r;
};

describe('the farm security group mode', () => {
  it('gives a new farm a default group (egress anywhere, ingress from members) that new VIFs join', async () => {
    const farm = await op.farm.get({ id: farmId });
    expect(farm.securityGroupMode).toBe('default');
    expect(farm.securityGroups.map((g) => g.name)).toEqual(['default']);
    const g = farm.securityGroups[0]!;
    defaultGroup = g.id;
    expect(g.rules.map((r) => [r.direction, r.protocol, r.remoteCidr, r.remoteGroupId])).toEqual([
      ['egress', 'any', '0.0.0.0/0', null],
      ['ingress', 'any', null, g.id],
    ]);
    for (const vm of farm.vms) for (const vif of vm.vifs) expect(vif.securityGroups).toEqual([g.id]);
    expect(g.members.sort()).toEqual([web.vif, app.vif, db.vif].sort());
    // A VIF added later joins too.
    const r = mutate(await op.vif.create({ vmId: web.vm, expectedRevision: rev, vnetId: back, ip: '10.2.0.30' }));
    expect(r.vif.securityGroups).toEqual([g.id]);
    mutate(await op.vif.delete({ id: r.vif.id, expectedRevision: rev }));
  });

  it('creates and assigns nothing in mode none; switching modes keeps what exists', async () => {
    const plain = await op.farm.create({ name: 'plain', securityGroupMode: 'none' });
    expect(plain.securityGroupMode).toBe('none');
    expect(plain.securityGroups).toEqual([]);
    const v = await op.vnet.create({ farmId: plain.id, expectedRevision: plain.revision, name: 'n', cidr: '10.9.0.0/24' });
    const m = await op.vm.create({ farmId: plain.id, expectedRevision: v.farmRevision, name: 'm', vifs: [{ vnetId: v.vnet.id }] });
    expect(m.vm.vifs[0]!.securityGroups).toEqual([]);
    const d = await op.securityGroup.setMode({ farmId: plain.id, expectedRevision: m.farmRevision, mode: 'default' });
    expect(d.farmRevision).toBe(m.farmRevision + 1);
    expect(d.securityGroups.map((g) => g.name)).toEqual(['default']);
    // The VIF that existed is left as it was: unfiltered until someone puts it in a group.
    expect((await op.vm.get({ id: m.vm.id })).vifs[0]!.securityGroups).toEqual([]);
    const n = await op.securityGroup.setMode({ farmId: plain.id, expectedRevision: d.farmRevision, mode: 'none' });
    expect(n.securityGroups.map((g) => g.name)).toEqual(['default']);
    const audit = await api.db.auditLog.findMany({ where: { entityId: plain.id, action: 'farm.setSecurityGroupMode' }, select: { after: true } });
    expect(audit.map((a) => a.after)).toEqual(['default', 'none']);
    await dropFarm(plain.id);
  });
});

describe('groups, rules and memberships', () => {
  let webGroup: string, dbGroup: string;

  it('creates groups with rules, adds, changes and deletes rules, each a farm edit with an audit entry', async () => {
    const w = mutate(await op.securityGroup.create({
      farmId, expectedRevision: rev, name: 'web', description: 'public tier',
      rules: [{ direction: 'ingress', protocol: 'tcp', portFrom: 80, portTo: 443 }, { direction: 'egress' }],
    }));
    webGroup = w.securityGroup.id;
    expect(w.securityGroup.rules.map((r) => [r.direction, r.protocol, r.portFrom, r.portTo, r.remoteCidr])).toEqual([
      ['ingress', 'tcp', 80, 443, '0.0.0.0/0'],
      ['egress', 'any', null, null, '0.0.0.0/0'],
    ]);
    const d = mutate(await op.securityGroup.create({ farmId, expectedRevision: rev, name: 'db' }));
    dbGroup = d.securityGroup.id;
    const added = mutate(await op.securityGroup.addRule({
      groupId: dbGroup, expectedRevision: rev, direction: 'ingress', protocol: 'tcp', portFrom: 5432, remoteGroupId: webGroup,
    }));
    const rule = added.securityGroup.rules[0]!;
    expect(rule).toMatchObject({ portFrom: 5432, portTo: 5432, remoteCidr: null, remoteGroupId: webGroup, remoteGroup: 'web' });
    const ping = mutate(await op.securityGroup.addRule({ groupId: dbGroup, expectedRevision: rev, direction: 'ingress', protocol: 'icmp', icmpType: 8 }));
    const pingId = ping.securityGroup.rules[1]!.id;
    // A remote given replaces the current one, of either kind.
    const changed = mutate(await op.securityGroup.updateRule({ id: pingId, expectedRevision: rev, icmpCode: 0, remoteCidr: '10.0.0.0/8' }));
    expect(changed.securityGroup.rules[1]).toMatchObject({ icmpType: 8, icmpCode: 0, remoteCidr: '10.0.0.0/8', remoteGroupId: null });
    const toGroup = mutate(await op.securityGroup.updateRule({ id: pingId, expectedRevision: rev, remoteGroupId: webGroup }));
    expect(toGroup.securityGroup.rules[1]).toMatchObject({ remoteCidr: null, remoteGroupId: webGroup });
    const gone = mutate(await op.securityGroup.deleteRule({ id: pingId, expectedRevision: rev }));
    expect(gone.securityGroup.rules.map((r) => r.id)).toEqual([rule.id]);
    const renamed = mutate(await op.securityGroup.update({ id: dbGroup, expectedRevision: rev, description: 'databases' }));
    expect(renamed.securityGroup.description).toBe('databases');
    const actions = (await api.db.auditLog.findMany({ where: { entity: 'securityGroup', entityId: dbGroup }, select: { action: true }, orderBy: { id: 'asc' } }))
      .map((a) => a.action);
    expect(actions).toEqual([
      'securityGroup.create', 'securityGroup.addRule', 'securityGroup.addRule', 'securityGroup.updateRule', 'securityGroup.updateRule',
      'securityGroup.deleteRule', 'securityGroup.update',
    ]);
    const listed = await op.securityGroup.list({ farmId });
    expect(listed.items.map((g) => g.name)).toEqual(['default', 'web', 'db']);
  });

  it('sets a VIF’s groups', async () => {
    const r = mutate(await op.vif.setSecurityGroups({ vifId: web.vif, expectedRevision: rev, groupIds: [webGroup, defaultGroup] }));
    expect(r.vif.securityGroups).toEqual([defaultGroup, webGroup]);
    mutate(await op.vif.setSecurityGroups({ vifId: db.vif, expectedRevision: rev, groupIds: [dbGroup] }));
    const farm = await op.farm.get({ id: farmId });
    expect(farm.securityGroups.find((g) => g.name === 'db')!.members).toEqual([db.vif]);
    expect(farm.vms.find((v) => v.name === 'db')!.vifs[0]!.securityGroups).toEqual([dbGroup]);
  });

  it('refuses every bad input, naming the field, and stores nothing', async () => {
    const before = await stored(op, farmId);
    const add = (x: Record<string, unknown>) =>
      op.securityGroup.addRule({ groupId: dbGroup, expectedRevision: rev, direction: 'ingress', ...x } as Parameters<Caller['securityGroup']['addRule']>[0]);
    await expectError(add({ protocol: 'icmp', portFrom: 80 }), 'BAD_REQUEST', 'portFrom');
    await expectError(add({ protocol: 'any', portFrom: 80 }), 'BAD_REQUEST', 'portFrom');
    await expectError(add({ protocol: 'tcp', portTo: 80 }), 'BAD_REQUEST', 'portFrom');
    await expectError(add({ protocol: 'tcp', portFrom: 443, portTo: 80 }), 'BAD_REQUEST', 'portTo');
    await expectError(add({ protocol: 'tcp', portFrom: 70_000 }), 'BAD_REQUEST', 'portFrom');
    await expectError(add({ protocol: 'icmp', icmpCode: 0 }), 'BAD_REQUEST', 'icmpCode');
    await expectError(add({ protocol: 'icmp', icmpType: 256 }), 'BAD_REQUEST', 'icmpType');
    await expectError(add({ protocol: 'udp', icmpType: 8 }), 'BAD_REQUEST', 'icmpType');
    const hostBits = await expectError(add({ remoteCidr: '10.1.0.5/24' }), 'BAD_REQUEST', 'remoteCidr');
    expect(hostBits.message).toContain('10.1.0.0/24');
    await expectError(add({ remoteCidr: 'nonsense' }), 'BAD_REQUEST', 'remoteCidr');
    await expectError(add({ remoteCidr: '10.0.0.0/8', remoteGroupId: webGroup }), 'BAD_REQUEST', 'remoteGroupId');
    // A group of another farm (of the same tenant) is no remote and no membership.
    const other = await op.farm.create({ name: 'other' });
    const otherGroup = other.securityGroups[0]!.id;
    await expectError(add({ remoteGroupId: otherGroup }), 'BAD_REQUEST', 'remoteGroupId');
    await expectError(op.vif.setSecurityGroups({ vifId: app.vif, expectedRevision: rev, groupIds: [dbGroup, otherGroup] }), 'BAD_REQUEST', 'groupIds.1');
    await expectError(op.vif.setSecurityGroups({ vifId: app.vif, expectedRevision: rev, groupIds: [dbGroup, dbGroup] }), 'BAD_REQUEST', 'groupIds.1');
    await expectError(op.vif.setSecurityGroups({ vifId: app.vif, expectedRevision: rev, groupIds: Array(17).fill(dbGroup) }), 'BAD_REQUEST', 'groupIds');
    // Names are unique in a farm; the default group stays while the mode needs it.
    await expectError(op.securityGroup.create({ farmId, expectedRevision: rev, name: 'web' }), 'CONFLICT', 'name');
    await expectError(op.securityGroup.update({ id: dbGroup, expectedRevision: rev, name: 'web' }), 'CONFLICT', 'name');
    await expectError(op.securityGroup.update({ id: defaultGroup, expectedRevision: rev, name: 'base' }), 'CONFLICT', 'name');
    await expectError(op.securityGroup.delete({ id: defaultGroup, expectedRevision: rev }), 'CONFLICT', 'id');
    await expectError(op.securityGroup.create({
      farmId, expectedRevision: rev, name: 'x', rules: [{ direction: 'egress' }, { direction: 'egress', protocol: 'udp', portFrom: 0 }],
    }), 'BAD_REQUEST', 'rules.1.portFrom');
    // A group still a remote of another group's rule, or with members, stays.
    const used = await expectError(op.securityGroup.delete({ id: webGroup, expectedRevision: rev }), 'CONFLICT', 'id');
    expect(used.message).toContain('remote of rules in group db');
    await expectError(op.securityGroup.delete({ id: dbGroup, expectedRevision: rev }), 'CONFLICT', 'id');
    await expectError(op.securityGroup.addRule({ groupId: dbGroup, expectedRevision: rev - 1, direction: 'egress' }), 'CONFLICT', 'expectedRevision');
    await dropFarm(other.id);
    expect(await stored(op, farmId)).toEqual(before);
  });

  it('refuses a rule past the most one group may hold', async () => {
    const g = mutate(await op.securityGroup.create({ farmId, expectedRevision: rev, name: 'full' }));
    await api.db.securityRule.createMany({
      data: Array.from({ length: SG_MAX_RULES }, (_, position) => ({ groupId: g.securityGroup.id, position, direction: 'egress' as const, remoteCidr: '0.0.0.0/0' })),
    });
    const e = await expectError(op.securityGroup.addRule({ groupId: g.securityGroup.id, expectedRevision: rev, direction: 'egress' }), 'CONFLICT', 'groupId');
    expect(e.message).toContain(`${SG_MAX_RULES} rules`);
    await api.db.securityRule.deleteMany({ where: { groupId: g.securityGroup.id } });
    mutate(await op.securityGroup.delete({ id: g.securityGroup.id, expectedRevision: rev }));
  });

  it('hides other tenants’ groups and refuses viewers', async () => {
    const before = await stored(op, farmId);
    const other = api.caller(api.otherOperator);
    await expectError(other.securityGroup.list({ farmId }), 'NOT_FOUND', 'farmId');
    await expectError(other.securityGroup.create({ farmId, expectedRevision: rev, name: 'evil' }), 'NOT_FOUND', 'farmId');
    await expectError(other.securityGroup.update({ id: dbGroup, expectedRevision: rev, name: 'evil' }), 'NOT_FOUND', 'id');
    await expectError(other.securityGroup.delete({ id: dbGroup, expectedRevision: rev }), 'NOT_FOUND', 'id');
    await expectError(other.securityGroup.addRule({ groupId: dbGroup, expectedRevision: rev, direction: 'egress' }), 'NOT_FOUND', 'groupId');
    const ruleId = (await op.securityGroup.list({ farmId })).items.find((g) => g.id === dbGroup)!.rules[0]!.id;
    await expectError(other.securityGroup.updateRule({ id: ruleId, expectedRevision: rev, portFrom: 1 }), 'NOT_FOUND', 'id');
    await expectError(other.securityGroup.deleteRule({ id: ruleId, expectedRevision: rev }), 'NOT_FOUND', 'id');
    await expectError(other.securityGroup.setMode({ farmId, expectedRevision: rev, mode: 'none' }), 'NOT_FOUND', 'farmId');
    await expectError(other.vif.setSecurityGroups({ vifId: web.vif, expectedRevision: rev, groupIds: [] }), 'NOT_FOUND', 'vifId');
    // Another tenant's farm's group, on this tenant's VIF.
    const theirs = await other.farm.create({ name: 'theirs' });
    await expectError(op.vif.setSecurityGroups({ vifId: web.vif, expectedRevision: rev, groupIds: [theirs.securityGroups[0]!.id] }), 'BAD_REQUEST', 'groupIds.0');
    const viewer = api.caller(api.viewer);
    await expectError(viewer.securityGroup.create({ farmId, expectedRevision: rev, name: 'v' }), 'FORBIDDEN', null);
    await expectError(viewer.vif.setSecurityGroups({ vifId: web.vif, expectedRevision: rev, groupIds: [] }), 'FORBIDDEN', null);
    expect((await viewer.securityGroup.list({ farmId })).items).toHaveLength(3);
    expect(await stored(op, farmId)).toEqual(before);
  });
});

describe('the farm document', () => {
  it('carries groups, rules and memberships by name, imports and applies them back', async () => {
    const doc = await op.farm.export({ id: farmId });
    expect(doc.securityGroupMode).toBe('default');
    expect(doc.securityGroups.map((g) => g.name)).toEqual(['db', 'default', 'web']);
    expect(doc.securityGroups[0]!.rules).toEqual([
      { direction: 'ingress', protocol: 'tcp', portFrom: 5432, portTo: 5432, icmpType: null, icmpCode: null, remoteCidr: null, remoteGroup: 'web', description: '' },
    ]);
    expect(doc.vms.find((v) => v.name === 'web')!.vifs[0]!.securityGroups).toEqual(['default', 'web']);
    expect('id' in doc.securityGroups[0]!).toBe(false);
    // Re-applying what was exported changes nothing.
    const same = await op.farm.applyDocument({ document: doc });
    expect(same.changed).toBe(false);
    // Imported under another name: the same groups and memberships.
    const copy = await op.farm.import({ document: { ...doc, name: 'tiers-copy', vnets: doc.vnets.map((v) => ({ ...v, vnid: undefined })) } });
    const back = await op.farm.export({ id: copy.id });
    expect({ ...back, name: doc.name, vnets: back.vnets.map((v) => ({ ...v, vnid: 0 })) }).toEqual({ ...doc, vnets: doc.vnets.map((v) => ({ ...v, vnid: 0 })) });
    // A change through apply: a rule and a membership; the kept groups keep their ids.
    const ids = new Map((await op.farm.get({ id: copy.id })).securityGroups.map((g) => [g.name, g.id]));
    const edited = {
      ...back,
      securityGroups: back.securityGroups.map((g) => (g.name === 'db' ? { ...g, rules: [...g.rules, { direction: 'egress' as const, remoteCidr: '10.2.0.0/24' }] } : g)),
      vms: back.vms.map((vm) => (vm.name === 'app' ? { ...vm, vifs: vm.vifs.map((f) => ({ ...f, securityGroups: ['db'] })) } : vm)),
    };
    const plan = await op.farm.planDocument({ document: edited });
    expect(plan.changes.map((c) => `${c.op} ${c.kind} ${c.name}`).sort()).toEqual(['change securityGroup db', 'change vm app']);
    const applied = await op.farm.applyDocument({ document: edited });
    expect(applied.changed).toBe(true);
    const after = await op.farm.get({ id: copy.id });
    expect(new Map(after.securityGroups.map((g) => [g.name, g.id]))).toEqual(ids);
    expect(after.securityGroups.find((g) => g.name === 'db')!.rules).toHaveLength(2);
    expect(after.vms.find((v) => v.name === 'app')!.vifs[0]!.securityGroups).toEqual([ids.get('db')]);
    await dropFarm(copy.id);
  });

  it('refuses bad groups in a document, naming the field', async () => {
    const doc = await op.farm.export({ id: farmId });
    const base = { ...doc, name: 'bad', vnets: doc.vnets.map((v) => ({ ...v, vnid: undefined })) };
    const dbAt = doc.securityGroups.findIndex((g) => g.name === 'db');
    const withRule = (rule: Record<string, unknown>) => ({
      ...base, securityGroups: base.securityGroups.map((g, i) => (i === dbAt ? { ...g, rules: [rule] } : g)),
    }) as typeof base;
    await expectError(op.farm.import({ document: withRule({ direction: 'ingress', remoteGroup: 'nope' }) }), 'BAD_REQUEST', `document.securityGroups.${dbAt}.rules.0.remoteGroup`);
    await expectError(op.farm.import({ document: withRule({ direction: 'ingress', protocol: 'icmp', portFrom: 1 }) }), 'BAD_REQUEST', `document.securityGroups.${dbAt}.rules.0.portFrom`);
    await expectError(op.farm.import({ document: withRule({ direction: 'ingress', remoteCidr: '10.0.0.1/8' }) }), 'BAD_REQUEST', `document.securityGroups.${dbAt}.rules.0.remoteCidr`);
    await expectError(op.farm.import({ document: withRule({ direction: 'ingress', remoteCidr: '10.0.0.0/8', remoteGroup: 'web' }) }), 'BAD_REQUEST', `document.securityGroups.${dbAt}.rules.0.remoteGroup`);
    const dup = { ...base, securityGroups: [...base.securityGroups, base.securityGroups[0]!] };
    await expectError(op.farm.import({ document: dup }), 'BAD_REQUEST', `document.securityGroups.${base.securityGroups.length}.name`);
    const webAt = base.vms.findIndex((v) => v.name === 'web');
    const badMember = { ...base, vms: base.vms.map((vm, i) => (i === webAt ? { ...vm, vifs: vm.vifs.map((f) => ({ ...f, securityGroups: ['web', 'ghost'] })) } : vm)) };
    await expectError(op.farm.import({ document: badMember }), 'BAD_REQUEST', `document.vms.${webAt}.vifs.0.securityGroups.1`);
    expect((await op.farm.list({})).items.map((f) => f.name)).not.toContain('bad');
  });

  it('reads a document from before security groups as mode none with no groups', async () => {
    const doc = await op.farm.export({ id: farmId });
    const { securityGroupMode: _m, securityGroups: _g, ...old } = doc;
    const plain = await op.farm.import({
      document: { ...old, name: 'old-style', vnets: old.vnets.map((v) => ({ ...v, vnid: undefined })), vms: old.vms.map((vm) => ({ ...vm, vifs: vm.vifs.map(({ securityGroups: _s, ...f }) => f) })) },
    });
    const farm = await op.farm.get({ id: plain.id });
    expect(farm.securityGroupMode).toBe('none');
    expect(farm.securityGroups).toEqual([]);
    await dropFarm(plain.id);
  });
});

describe('deploy', () => {
  const state = async (hostId: string) => {
    const row = await api.db.hostDesiredState.findUnique({ where: { hostId }, select: { state: true } });
    return row ? (row.state as unknown as HostState) : null;
  };

  it('gives each host the groups its VIFs use, remote groups as member addresses, rule ids the database’s', async () => {
    await op.farm.deploy({ id: farmId });
    const farm = await op.farm.get({ id: farmId });
    const group = (name: string) => farm.securityGroups.find((g) => g.name === name)!;
    const s1 = (await state(h1))!, s2 = (await state(h2))!;
    // h1 runs web (default, web); h2 runs app (default) and db (db).
    expect(s1.securityGroups!.map((g) => g.id)).toEqual([group('default').id, group('web').id].sort());
    expect(s2.securityGroups!.map((g) => g.id)).toEqual([group('default').id, group('db').id].sort());
    expect(s1.vifs.find((v) => v.id === web.vif)!.securityGroups).toEqual([group('default').id, group('web').id].sort());
    expect(s2.vifs.find((v) => v.id === db.vif)!.securityGroups).toEqual([group('db').id]);
    const dbState = s2.securityGroups!.find((g) => g.id === group('db').id)!;
    expect(dbState.name).toBe('tiers/db');
    // The remote group web has one member, web's VIF on the other host.
    expect(dbState.rules).toEqual([{
      id: group('db').rules[0]!.id, direction: 'ingress', protocol: 'tcp', portFrom: 5432, portTo: 5432, icmpType: null, icmpCode: null,
      remote: [], remoteSet: group('web').id,
    }]);
    const def = s2.securityGroups!.find((g) => g.id === group('default').id)!;
    expect(def.rules.map((r) => [r.id, r.direction, r.remote, r.remoteSet])).toEqual([
      [group('default').rules[0]!.id, 'egress', ['0.0.0.0/0'], null],
      [group('default').rules[1]!.id, 'ingress', [], group('default').id],
    ]);
    // Each set once, its members on any host.
    expect(s2.addressSets).toEqual([
      { id: group('default').id, addresses: ['10.1.0.10/32', '10.2.0.10/32'] },
      { id: group('web').id, addresses: ['10.1.0.10/32'] },
    ].sort((x, y) => (x.id < y.id ? -1 : 1)));
  });

  it('sends a membership change to every host whose rules name the group, in one deploy', async () => {
    const webGroup = (await op.farm.get({ id: farmId })).securityGroups.find((g) => g.name === 'web')!.id;
    // app (on h2) joins web: db's rule on h2 now also admits app's address.
    mutate(await op.vif.setSecurityGroups({ vifId: app.vif, expectedRevision: rev, groupIds: [defaultGroup, webGroup] }));
    await op.farm.deploy({ id: farmId });
    const s2 = (await state(h2))!;
    const dbState = s2.securityGroups!.find((g) => g.name === 'tiers/db')!;
    expect(s2.addressSets!.find((a) => a.id === dbState.rules[0]!.remoteSet)!.addresses).toEqual(['10.1.0.10/32', '10.2.0.10/32']);
    expect(s2.securityGroups!.map((g) => g.name).sort()).toEqual(['tiers/db', 'tiers/default', 'tiers/web']);
  });

  it('quarantines a VIF taken out of every group in a farm of mode default: filtered, nothing allowed', async () => {
    mutate(await op.vif.setSecurityGroups({ vifId: app.vif, expectedRevision: rev, groupIds: [] }));
    await op.farm.deploy({ id: farmId });
    const vif = (await state(h2))!.vifs.find((v) => v.id === app.vif)!;
    expect(vif.securityGroups).toEqual([]);
  });

  it('leaves a farm in mode none with no groups exactly as before: no securityGroups anywhere', async () => {
    const plain = await op.farm.create({ name: 'legacy', securityGroupMode: 'none' });
    const v = await op.vnet.create({ farmId: plain.id, expectedRevision: plain.revision, name: 'n', cidr: '10.9.0.0/24' });
    const m = await op.vm.create({ farmId: plain.id, expectedRevision: v.farmRevision, name: 'm', hostId: h1, vifs: [{ vnetId: v.vnet.id }] });
    await op.farm.deploy({ id: plain.id });
    const s1 = (await state(h1))!;
    const vif = s1.vifs.find((x) => x.id === m.vm.vifs[0]!.id)!;
    expect('securityGroups' in vif).toBe(false);
    expect(s1.securityGroups!.every((g) => !g.name!.startsWith('legacy/'))).toBe(true);
  });
});

describe('host bounds at edit time', () => {
  it('refuses a membership that would put more rules on one host than it takes, naming groupIds, storing nothing', async () => {
    const f = await op.farm.create({ name: 'bounded', securityGroupMode: 'none' });
    const v = await op.vnet.create({ farmId: f.id, expectedRevision: f.revision, name: 'n', cidr: '10.7.0.0/24' });
    const m = await op.vm.create({
      farmId: f.id, expectedRevision: v.farmRevision, name: 'many', hostId: h1,
      vifs: Array.from({ length: 5 }, (_, i) => ({ vnetId: v.vnet.id, ip: `10.7.0.${10 + i}` })),
    });
    let r = m.farmRevision;
    // 70 groups of 1,000 rules each, written directly (the API adds rules one by one).
    await api.db.securityGroup.createMany({ data: Array.from({ length: 70 }, (_, i) => ({ farmId: f.id, name: `g${i}` })) });
    const groups = (await api.db.securityGroup.findMany({ where: { farmId: f.id }, select: { id: true, name: true } }))
      .sort((a, b) => Number(a.name.slice(1)) - Number(b.name.slice(1))).map((g) => g.id);
    // In one statement: 70,000 rows through the client take tens of seconds on the embedded database.
    await api.db.$executeRawUnsafe(
      `INSERT INTO "SecurityRule" (id, "groupId", position, direction, "remoteCidr")
       SELECT gen_random_uuid(), g, p, 'egress'::"SecurityDirection", '0.0.0.0/0' FROM unnest($1::uuid[]) AS g, generate_series(0, 999) AS p`,
      groups,
    );
    expect(await api.db.securityRule.count({ where: { groupId: { in: groups } } })).toBe(70_000);
    const vifs = m.vm.vifs.map((x) => x.id);
    // Four VIFs in 14 groups each: 56,000 rules on h1.
    for (let i = 0; i < 4; i++) {
      r = (await op.vif.setSecurityGroups({ vifId: vifs[i]!, expectedRevision: r, groupIds: groups.slice(14 * i, 14 * i + 14) })).farmRevision;
    }
    // The fifth would bring 70,000.
    const e = await expectError(op.vif.setSecurityGroups({ vifId: vifs[4]!, expectedRevision: r, groupIds: groups.slice(56, 70) }), 'BAD_REQUEST', 'groupIds');
    expect(e.message).toContain('70000 rules');
    expect(await api.db.vifSecurityGroup.count({ where: { vifId: vifs[4]! } })).toBe(0);
    await dropFarm(f.id);
  }, 60_000);
});
