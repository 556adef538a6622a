// Proves the migrated database is the one schema.prisma describes, using
// Prisma's own reading of the schema (DMMF) and the database's catalogs, then
// by writing and reading every column through the generated client.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, type TestDb } from '../../test/db.ts';
import { readCatalog, readCatalogIn, type Catalog } from './catalog.ts';
import { getDatamodel, type Datamodel } from './dmmf.ts';
import { diffSchema, expectedIndexes, scalarFields as scalars } from './schema-check.ts';
import { fixtures, ids, type Fixture, type ModelName } from './schema-fixtures.ts';

const schemaText = readFileSync(new URL('../../prisma/schema.prisma', import.meta.url), 'utf8');

let db: TestDb;
let dm: Datamodel;
let cat: Catalog;

beforeAll(async () => {
  dm = getDatamodel(schemaText);
  db = await createTestDb();
  cat = await readCatalog(db.sql);
});
afterAll(async () => {
  await db?.drop();
});

const model = (name: string) => dm.models.find((m) => m.name === name)!;

describe('migrated database matches schema.prisma', () => {
  it('has every table, column, enum, key, index and foreign key the schema describes, and nothing else', () => {
    expect(diffSchema(dm, cat)).toEqual([]);
    // Spot checks that the comparison looked at real objects.
    expect(cat.indexes.map((i) => i.name)).toEqual(expect.arrayContaining(['User_username_key', 'Vif_vnetId_mac_key', 'Session_userId_idx']));
    expect(cat.columns.length).toBeGreaterThan(dm.models.length * 3);
  });

  it('names every @unique and @@unique among the unique indexes it checks', () => {
    const uniques = expectedIndexes(dm).filter((i) => i.unique && !i.primary);
    for (const m of dm.models) {
      const declared = [...m.fields.filter((f) => f.isUnique).map((f) => [f.name]), ...m.uniqueFields];
      for (const fields of declared) {
        const cols = fields.map((n) => m.fields.find((f) => f.name === n)!).map((f) => f.dbName ?? f.name);
        expect(uniques.some((u) => u.table === (m.dbName ?? m.name) && u.columns.join() === cols.join()), `${m.name}(${fields})`).toBe(true);
      }
    }
  });

  it('reports drift: a changed type, default, nullability, enum, index or foreign key, and stray objects', async () => {
    const drift = await db.sql.session((s) =>
      s
        .transaction(async (tx) => {
          await tx.exec(`
            ALTER TABLE "Host" ALTER COLUMN "port" TYPE BIGINT;
            ALTER TABLE "Host" ALTER COLUMN "port" SET DEFAULT 1799;
            ALTER TABLE "User" ALTER COLUMN "passwordHash" DROP NOT NULL;
            ALTER TYPE "Role" ADD VALUE 'root';
            DROP INDEX "Vif_vnetId_mac_key";
            CREATE INDEX "Vif_mac_idx" ON "Vif"("mac");
            ALTER TABLE "Vif" DROP CONSTRAINT "Vif_vnetId_fkey";
            ALTER TABLE "Vif" ADD CONSTRAINT "Vif_vnetId_fkey" FOREIGN KEY ("vnetId") REFERENCES "Vnet"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
            ALTER TABLE "Farm" ADD COLUMN "color" TEXT;
            ALTER TABLE "Tenant" DROP COLUMN "createdAt";
            CREATE TABLE "Stray" (id INT);`);
          const lines = diffSchema(dm, await readCatalogIn(tx));
          throw Object.assign(new Error('rollback'), { lines });
        })
        .catch((e: { lines?: string[] }) => e.lines ?? Promise.reject(e)),
    );
    expect(drift).toEqual(expect.arrayContaining([
      'column Host.port has type int8, schema wants int4',
      'column Host.port has default 1799, schema wants 1798',
      'column User.passwordHash is nullable, schema wants the opposite',
      'enum Role is (admin, operator, viewer, root), schema wants (admin, operator, viewer)',
      'missing column Tenant.createdAt',
      'unexpected column Farm.color',
      'unexpected table Stray',
    ]));
    expect(drift.some((l) => l.startsWith('missing index Vif_vnetId_mac_key'))).toBe(true);
    expect(drift.some((l) => l.startsWith('unexpected index Vif_mac_idx'))).toBe(true);
    expect(drift.some((l) => l.startsWith('foreign key Vif_vnetId_fkey is'))).toBe(true);
    expect(drift).toHaveLength(10);
    // The rollback left the database as migrated.
    expect(diffSchema(dm, await readCatalog(db.sql))).toEqual([]);
  });
});

type Row = Record<string, unknown>;
interface Delegate {
  create(a: { data: Row }): Promise<Row>;
  findUnique(a: { where: Row }): Promise<Row | null>;
  findUniqueOrThrow(a: { where: Row }): Promise<Row>;
  update(a: { where: Row; data: Row }): Promise<Row>;
  delete(a: { where: Row }): Promise<Row>;
  count(): Promise<number>;
}
const delegate = (name: ModelName) =>
  (db.prisma as unknown as Record<string, Delegate>)[name[0]!.toLowerCase() + name.slice(1)]!;

async function createAll(): Promise<Fixture[]> {
  const all = fixtures();
  for (const fx of all) await delegate(fx.model).create({ data: fx.data });
  return all;
}

describe('every model round-trips through the generated client', () => {
  it('the fixtures set every scalar field of every model', () => {
    const all = fixtures();
    expect([...new Set(all.map((fx) => fx.model))].sort()).toEqual(dm.models.map((m) => m.name).sort());
    for (const fx of all) expect(Object.keys(fx.data).sort(), fx.model).toEqual(scalars(model(fx.model)).map((f) => f.name).sort());
  });

  it('creates, reads, updates and deletes a row of every model with every field set', async () => {
    const all = fixtures();
    for (const fx of all) {
      const d = delegate(fx.model);
      expect(await d.create({ data: fx.data }), `create ${fx.model}`).toEqual(fx.data);
      expect(await d.findUniqueOrThrow({ where: fx.where }), `read ${fx.model}`).toEqual(fx.data);
    }
    for (const fx of all) {
      const d = delegate(fx.model);
      const updatedAt = scalars(model(fx.model)).find((f) => f.isUpdatedAt);
      const expected: Row = { ...fx.data, ...fx.update };
      if (updatedAt) expected[updatedAt.name] = expect.any(Date);
      const row = await d.update({ where: fx.where, data: fx.update });
      expect(row, `update ${fx.model}`).toEqual(expected);
      if (updatedAt) expect(row[updatedAt.name], `${fx.model}.@updatedAt`).not.toEqual(fx.data[updatedAt.name]);
      expect(await d.findUniqueOrThrow({ where: fx.where }), `re-read ${fx.model}`).toEqual(row);
    }
    for (const fx of [...all].reverse()) {
      const d = delegate(fx.model);
      await d.delete({ where: fx.where });
      expect(await d.findUnique({ where: fx.where }), `delete ${fx.model}`).toBeNull();
    }
  });

  it('deletes a whole tenant or vnet by cascade, and refuses to delete a host that still has VMs', async () => {
    await createAll();
    const p = db.prisma;
    await p.vnet.delete({ where: { id: ids.vnet } });
    expect(await p.vif.count()).toBe(0);
    expect(await p.routerInterface.count()).toBe(0);
    expect(await p.firewallInterface.count()).toBe(0);
    expect(await p.firewallRule.count()).toBe(0); // through its ingress interface
    await expect(p.host.delete({ where: { id: ids.host } })).rejects.toThrow();
    await p.tenant.delete({ where: { id: ids.tenant } });
    for (const name of ['User', 'Session', 'ApiToken', 'Farm', 'Vm', 'Router', 'RouterLink', 'StaticRoute',
      'Firewall', 'FarmRevision', 'DesignerLayout', 'Deployment'] as const) {
      expect(await delegate(name).count(), name).toBe(0);
    }
    // Inventory and the audit trail outlive tenants.
    for (const name of ['Host', 'LanSegment', 'EnrollmentToken', 'AuditLog', 'HostDesiredState', 'HostReport'] as const) {
      expect(await delegate(name).count(), name).toBe(1);
    }
    await p.host.delete({ where: { id: ids.host } });
    for (const name of ['EnrollmentToken', 'HostDesiredState', 'HostReport'] as const) {
      expect(await delegate(name).count(), name).toBe(0);
    }
  });
});
