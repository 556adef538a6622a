// A transaction's statements go to Postgres one at a time. A transaction holds
// one connection, and pg@8 queues a statement sent on a connection that is
// still running another (deprecated: "Calling client.query() when the client is
// already executing a query"); pg@9 refuses it. Prisma runs a transaction's
// operations one after another, but loads an operation's relations (`include`,
// nested `select`) side by side. Every pg.Client's statements are watched
// here, and none may start before the one before it on that client is done.
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { consoleConfig } from '../config/index.ts';
import { setupApi, type ApiFixture, type Caller } from './api.ts';
import { prerequisite } from './require.ts';

const onPostgres = prerequisite(!!consoleConfig().DATABASE_URL, 'DATABASE_URL is unset: statements overlap only on a Postgres connection');

/** Records the statements sent on a pg.Client while another one of its statements was running. */
function watchOverlaps(): { overlaps: string[]; restore(): void } {
  const overlaps: string[] = [];
  const running = new WeakMap<pg.Client, number>();
  const query = pg.Client.prototype.query;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const n = running.get(this) ?? 0;
    if (n > 0) {
      const q = args[0] as string | { text: string };
      overlaps.push(typeof q === 'string' ? q : q.text);
    }
    const out: unknown = Reflect.apply(query, this, args);
    if (out instanceof Promise) {
      running.set(this, n + 1);
      const done = () => running.set(this, (running.get(this) ?? 1) - 1);
      out.then(done, done);
    }
    return out;
  } as typeof query;
  return { overlaps, restore: () => void (pg.Client.prototype.query = query) };
}

describe.skipIf(!onPostgres)('statements of one transaction on Postgres', () => {
  let api: ApiFixture;
  let op: Caller;
  let watch: ReturnType<typeof watchOverlaps>;
  let farmId: string;
  let vifId: string;

  beforeAll(async () => {
    api = await setupApi();
    op = api.caller(api.operator);
    const hostId = (await api.db.host.create({ data: { name: 'h1', address: '127.0.0.2' }, select: { id: true } })).id;
    const farm = await op.farm.create({ name: 'shop' });
    const vnet = await op.vnet.create({ farmId: farm.id, expectedRevision: farm.revision, name: 'lan', cidr: '10.1.0.0/24' });
    const vm = await op.vm.create({ farmId: farm.id, expectedRevision: vnet.farmRevision, name: 'web', hostId, vifs: [{ vnetId: vnet.vnet.id }] });
    await op.router.create({ farmId: farm.id, expectedRevision: vm.farmRevision, name: 'gw', hostId, interfaces: [] });
    farmId = farm.id;
    vifId = vm.vm.vifs[0]!.id;
    watch = watchOverlaps();
  }, 60_000);
  afterAll(async () => {
    watch?.restore();
    await api?.drop();
  });
  beforeEach(() => {
    watch.overlaps.length = 0;
  });

  const revision = async () => (await op.farm.get({ id: farmId })).revision;

  it('applies a document to a stored farm one statement at a time', async () => {
    const document = await op.farm.export({ id: farmId });
    const out = await op.farm.applyDocument({ document: { ...document, description: 'applied' }, expectedRevision: await revision() });
    expect(out).toMatchObject({ created: false, changed: true });
    expect(watch.overlaps).toEqual([]);
  });

  it('sets a VIF’s security groups one statement at a time', async () => {
    const [group] = (await op.securityGroup.list({ farmId })).items;
    const out = await op.vif.setSecurityGroups({ vifId, expectedRevision: await revision(), groupIds: [group!.id] });
    expect(out.vif.securityGroups).toEqual([group!.id]);
    expect(watch.overlaps).toEqual([]);
  });

  it('loads sibling relations of one read one at a time', async () => {
    const farm = await api.db.$transaction((tx) =>
      tx.farm.findUniqueOrThrow({ where: { id: farmId }, include: { vnets: true, vms: true, routers: true, firewalls: true } }),
    );
    expect([farm.vnets.length, farm.vms.length, farm.routers.length, farm.firewalls.length]).toEqual([1, 1, 1, 0]);
    expect(watch.overlaps).toEqual([]);
  });
});
