// Uniqueness under concurrency: checks made by a service before it writes
// cannot see a rival transaction that has not committed yet, so the database
// itself must refuse the second claim, and its refusal must reach the caller
// as a CONFLICT naming the field the constraint is about. On Postgres the
// claims really run in parallel (a pool of connections); on the embedded
// database they are serialized, and the services' own checks answer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TRPCError } from '@trpc/server';
import { mapDatabaseError } from '../server/trpc/db-errors.ts';
import { setupControl, type ControlFixture, type EnrolledHost } from './control-fixture.ts';

let f: ControlFixture;
let h1: EnrolledHost;
const CLAIMS = 20;

beforeAll(async () => {
  f = await setupControl();
  h1 = await f.host('h1', '127.0.0.2');
}, 60_000);
afterAll(() => f?.drop());

type Outcome = { ok: true } | { ok: false; code: string; field: string | null };
async function outcome(call: Promise<unknown>): Promise<Outcome> {
  try {
    await call;
    return { ok: true };
  } catch (e) {
    if (!(e instanceof TRPCError)) return { ok: false, code: `not a TRPCError: ${String(e)}`, field: null };
    return { ok: false, code: e.code, field: (e.cause as { field?: string } | undefined)?.field ?? null };
  }
}

describe('parallel claims of one unique thing', () => {
  it(`${CLAIMS} parallel vnet.setVlan of one host, interface and VID: exactly one wins, the others get CONFLICT on vid`, async () => {
    const op = f.caller(f.operator);
    // One vnet in each of CLAIMS farms: the farms' revisions do not serialize the claims.
    const vnets: { id: string; revision: number }[] = [];
    for (let i = 0; i < CLAIMS; i++) {
      const farm = await op.farm.create({ name: `vlan-race-${i}` });
      const r = await op.vnet.create({ farmId: farm.id, expectedRevision: farm.revision, name: 'n', cidr: `10.${i}.0.0/24` });
      vnets.push({ id: r.vnet.id, revision: r.farmRevision });
    }
    const results = await Promise.all(
      vnets.map((v) => outcome(f.caller(f.operator).vnet.setVlan({ id: v.id, expectedRevision: v.revision, hostId: h1.id, interface: 'eth0', vid: 100 }))),
    );
    const winners = results.filter((r) => r.ok);
    const losers = results.filter((r): r is Extract<Outcome, { ok: false }> => !r.ok);
    expect(winners).toHaveLength(1);
    expect(losers.map((l) => `${l.code} ${l.field}`)).toEqual(Array(CLAIMS - 1).fill('CONFLICT vid'));
    expect(await f.db.vnetVlan.count({ where: { hostId: h1.id, interface: 'eth0', vid: 100 } })).toBe(1);
  }, 120_000);

  it('parallel host.create with one care-of address: one wins, the others get CONFLICT on address', async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => outcome(f.caller(f.admin).host.create({ name: `race-${i}`, address: '127.0.0.77' }))),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.filter((r) => !r.ok).map((r) => (r.ok ? '' : `${r.code} ${r.field}`))).toEqual(Array(7).fill('CONFLICT address'));
  });
});

describe('a unique violation names the constraint\'s field, whichever driver reports it', () => {
  const violation = (cause: Record<string, unknown>) => ({
    code: 'P2002',
    meta: { modelName: 'VnetVlan', driverAdapterError: { name: 'DriverAdapterError', cause: { originalCode: '23505', kind: 'UniqueConstraintViolation', ...cause } } },
  });

  it('from the fields (embedded database), the index name (Postgres) or the message', () => {
    const fromFields = mapDatabaseError(violation({ constraint: { fields: ['"hostId"', 'interface', 'vid'] } }));
    const fromIndex = mapDatabaseError(violation({ constraint: { index: 'VnetVlan_hostId_interface_vid_key' }, table: 'VnetVlan' }));
    const fromMessage = mapDatabaseError(violation({ originalMessage: 'duplicate key value violates unique constraint "Host_address_key"' }));
    expect([fromFields?.field, fromIndex?.field, fromMessage?.field]).toEqual(['vid', 'vid', 'address']);
    expect(fromIndex?.message).toBe('vid: already in use');
    expect(fromIndex?.code).toBe('CONFLICT');
    // Nothing to go by: no field is named rather than a wrong one.
    const unknown = mapDatabaseError({ code: 'P2002', meta: {} });
    expect(unknown).toMatchObject({ code: 'CONFLICT', field: undefined, message: 'already in use' });
  });
});
