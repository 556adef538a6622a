// Every list procedure treats a bad cursor alike: a malformed one, one naming
// nothing, one naming a deleted item, and one naming an item of another list
// (another farm, another tenant, another filter) are each a BAD_REQUEST on
// `cursor` with a clear message, never an empty or shifted page. A good
// cursor pages through the whole list, each item once.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupControl, type Caller, type ControlFixture } from '../../test/control-fixture.ts';
import { expectError, sampleFarm } from '../../test/farm-fixtures.ts';

interface Page {
  items: { id: string }[];
  nextCursor: string | null;
}

interface ListCase {
  name: string;
  list: (cursor: string | undefined, limit: number) => Promise<Page>;
  /** Ids that exist but belong to another farm, tenant or filter. */
  foreign: () => string[];
  /** An id that named an item of this list until it was deleted (when the list's items can be deleted). */
  deleted?: () => string;
  /** A well-formed cursor naming nothing at all. */
  unknown?: string;
}

let f: ControlFixture;
let op: Caller;
let admin: Caller;
let other: Caller;
const ids: Record<string, string> = {};

beforeAll(async () => {
  f = await setupControl();
  op = f.caller(f.operator);
  admin = f.caller(f.admin);
  other = f.caller(f.otherOperator);
  const a = await sampleFarm(op, 'cursor-a');
  const b = await sampleFarm(op, 'cursor-b');
  const theirs = await sampleFarm(other, 'cursor-theirs');
  Object.assign(ids, { farmA: a.farmId, farmB: b.farmId, farmTheirs: theirs.farmId, vmA: a.web, vmB: b.web, vmTheirs: theirs.web });
  ids.vnetB = b.front;
  ids.vnetTheirs = theirs.front;
  ids.routerB = b.router;
  ids.routerTheirs = theirs.router;
  ids.firewallB = b.firewall;
  ids.firewallTheirs = theirs.firewall;
  const vifOf = async (c: Caller, vm: string) => (await c.vm.get({ id: vm })).vifs[0]!.id;
  ids.vifB = await vifOf(op, b.web);
  ids.vifAppA = await vifOf(op, a.app);
  ids.vifTheirs = await vifOf(other, theirs.web);

  // Items to delete, each made (and listed) first.
  let rev = a.revision;
  const gone = {
    vnet: await op.vnet.create({ farmId: a.farmId, expectedRevision: rev++, name: 'gone', cidr: '10.9.0.0/24' }),
    vm: await op.vm.create({ farmId: a.farmId, expectedRevision: rev++, name: 'gone' }),
    router: await op.router.create({ farmId: a.farmId, expectedRevision: rev++, name: 'gone' }),
    firewall: await op.firewall.create({ farmId: a.farmId, expectedRevision: rev++, name: 'gone' }),
    vif: await op.vif.create({ vmId: a.web, expectedRevision: rev++, vnetId: a.back }),
  };
  await op.vnet.delete({ id: gone.vnet.vnet.id, expectedRevision: rev++ });
  await op.vm.delete({ id: gone.vm.vm.id, expectedRevision: rev++ });
  await op.router.delete({ id: gone.router.router.id, expectedRevision: rev++ });
  await op.firewall.delete({ id: gone.firewall.firewall.id, expectedRevision: rev++ });
  await op.vif.delete({ id: gone.vif.vif.id, expectedRevision: rev++ });
  Object.assign(ids, {
    goneVnet: gone.vnet.vnet.id, goneVm: gone.vm.vm.id, goneRouter: gone.router.router.id,
    goneFirewall: gone.firewall.firewall.id, goneVif: gone.vif.vif.id,
  });
  const goneFarm = await op.farm.create({ name: 'cursor-gone' });
  await op.farm.delete({ id: goneFarm.id, expectedRevision: goneFarm.revision });
  ids.goneFarm = goneFarm.id;

  // Revisions and deployments of both farms of tenant A.
  for (const farm of [a.farmId, b.farmId]) {
    await op.farm.createRevision({ farmId: farm });
    await op.farm.deploy({ id: farm });
    await op.farm.undeploy({ id: farm });
  }
  ids.revisionB = (await op.farm.listRevisions({ farmId: b.farmId })).items[0]!.id;
  ids.deploymentB = (await op.farm.deployments({ farmId: b.farmId })).items[0]!.id;

  // Identity and infrastructure: users, tokens, hosts, segments.
  const viewer = await admin.user.create({ username: 'cursor-viewer', password: 'a long password 1', role: 'viewer' });
  const gina = await admin.user.create({ username: 'cursor-gone', password: 'a long password 1', role: 'viewer' });
  await admin.user.delete({ id: gina.id });
  Object.assign(ids, { viewerUser: viewer.id, goneUser: gina.id, otherUser: f.otherOperator.userId });
  const t1 = await op.apiToken.create({ name: 't1', role: 'viewer' });
  await op.apiToken.create({ name: 't2', role: 'viewer' });
  const revoked = await op.apiToken.create({ name: 't3', role: 'viewer' });
  await op.apiToken.revoke({ id: revoked.apiToken.id });
  const adminToken = await admin.apiToken.create({ name: 'admins', role: 'viewer' });
  const theirToken = await other.apiToken.create({ name: 'theirs', role: 'viewer' });
  Object.assign(ids, { token: t1.apiToken.id, revokedToken: revoked.apiToken.id, adminToken: adminToken.apiToken.id, theirToken: theirToken.apiToken.id });
  const seg1 = await admin.segment.create({ name: 'cursor-seg-1' });
  await admin.segment.create({ name: 'cursor-seg-2' });
  const seg3 = await admin.segment.create({ name: 'cursor-seg-3' });
  await admin.segment.delete({ id: seg3.id });
  Object.assign(ids, { segment1: seg1.id, goneSegment: seg3.id });
  const h1 = await admin.host.create({ name: 'cursor-h1', address: '127.0.0.61', segmentId: seg1.id });
  await admin.host.create({ name: 'cursor-h2', address: '127.0.0.62' });
  const h3 = await admin.host.create({ name: 'cursor-h3', address: '127.0.0.63' });
  await admin.host.delete({ id: h3.host.id });
  Object.assign(ids, { hostInSegment: h1.host.id, goneHost: h3.host.id });
  ids.hostOutside = (await admin.host.list({ limit: 200 })).items.find((h) => h.name === 'cursor-h2')!.id;

  // Audit entries: tenant B's, and one of another entity than a filter asks for.
  ids.auditTheirs = (await other.audit.list({ limit: 1 })).items[0]!.id;
  ids.auditVnet = (await op.audit.list({ entity: 'vnet', limit: 1 })).items[0]!.id;
}, 120_000);
afterAll(() => f?.drop());

const cases: ListCase[] = [
  {
    name: 'farm.list', list: (cursor, limit) => op.farm.list({ cursor, limit }),
    foreign: () => [ids.farmTheirs!], deleted: () => ids.goneFarm!,
  },
  {
    name: 'farm.listRevisions', list: (cursor, limit) => op.farm.listRevisions({ farmId: ids.farmA!, cursor, limit }),
    foreign: () => [ids.revisionB!],
  },
  {
    name: 'farm.deployments', list: (cursor, limit) => op.farm.deployments({ farmId: ids.farmA!, cursor, limit }),
    foreign: () => [ids.deploymentB!],
  },
  {
    name: 'vnet.list', list: (cursor, limit) => op.vnet.list({ farmId: ids.farmA!, cursor, limit }),
    foreign: () => [ids.vnetB!, ids.vnetTheirs!], deleted: () => ids.goneVnet!,
  },
  {
    name: 'vm.list', list: (cursor, limit) => op.vm.list({ farmId: ids.farmA!, cursor, limit }),
    foreign: () => [ids.vmB!, ids.vmTheirs!], deleted: () => ids.goneVm!,
  },
  {
    name: 'vif.list (farm)', list: (cursor, limit) => op.vif.list({ farmId: ids.farmA!, cursor, limit }),
    foreign: () => [ids.vifB!, ids.vifTheirs!], deleted: () => ids.goneVif!,
  },
  {
    // Another VM's VIF in the same farm is another list.
    name: 'vif.list (vm)', list: (cursor, limit) => op.vif.list({ vmId: ids.vmA!, cursor, limit }),
    foreign: () => [ids.vifAppA!, ids.vifB!], deleted: () => ids.goneVif!,
  },
  {
    name: 'router.list', list: (cursor, limit) => op.router.list({ farmId: ids.farmA!, cursor, limit }),
    foreign: () => [ids.routerB!, ids.routerTheirs!], deleted: () => ids.goneRouter!,
  },
  {
    name: 'firewall.list', list: (cursor, limit) => op.firewall.list({ farmId: ids.farmA!, cursor, limit }),
    foreign: () => [ids.firewallB!, ids.firewallTheirs!], deleted: () => ids.goneFirewall!,
  },
  {
    name: 'user.list', list: (cursor, limit) => admin.user.list({ role: 'viewer', cursor, limit }),
    // Another tenant's user; a user of this tenant the `role` filter leaves out.
    foreign: () => [ids.otherUser!, f.operator.userId], deleted: () => ids.goneUser!,
  },
  {
    name: 'apiToken.list', list: (cursor, limit) => op.apiToken.list({ cursor, limit }),
    // A revoked token (left out without includeRevoked), the admin's (not the operator's own), another tenant's.
    foreign: () => [ids.revokedToken!, ids.adminToken!, ids.theirToken!],
  },
  {
    name: 'host.list', list: (cursor, limit) => op.host.list({ segmentId: ids.segment1!, cursor, limit }),
    foreign: () => [ids.hostOutside!], deleted: () => ids.goneHost!,
  },
  {
    name: 'segment.list', list: (cursor, limit) => op.segment.list({ cursor, limit }),
    foreign: () => [ids.farmA!], deleted: () => ids.goneSegment!,
  },
  {
    name: 'audit.list', list: (cursor, limit) => op.audit.list({ entity: 'farm', cursor, limit }),
    foreign: () => [ids.auditTheirs!, ids.auditVnet!], unknown: '999999999',
  },
];

describe.each(cases)('$name', (c) => {
  it('pages through every item once with the cursors it hands out', async () => {
    const all = await c.list(undefined, 200);
    expect(all.nextCursor).toBeNull();
    expect(all.items.length).toBeGreaterThan(0);
    const seen: string[] = [];
    let cursor: string | undefined;
    for (let i = 0; i <= all.items.length; i++) {
      const page = await c.list(cursor, 1);
      seen.push(...page.items.map((x) => x.id));
      if (page.nextCursor === null) break;
      cursor = page.nextCursor;
    }
    expect(seen).toEqual(all.items.map((x) => x.id));
  });

  it('refuses a malformed cursor', async () => {
    for (const bad of ['not-a-cursor', '', '0', `${randomUUID()}x`]) {
      const e = await expectError(c.list(bad, 10), 'BAD_REQUEST', 'cursor');
      expect(e.message).toContain('is not a cursor of this list');
    }
  });

  it('refuses a cursor naming nothing, a deleted item, or an item of another list', async () => {
    const before = await c.list(undefined, 200);
    const bad = [c.unknown ?? randomUUID(), ...(c.deleted ? [c.deleted()] : []), ...c.foreign()];
    for (const cursor of bad) {
      const e = await expectError(c.list(cursor, 10), 'BAD_REQUEST', 'cursor');
      expect(e.message).toBe('cursor: does not name an item of this list (deleted since, or from another list); start again without a cursor');
    }
    // Reads only: the list is as it was.
    expect(await c.list(undefined, 200)).toEqual(before);
  });
});
