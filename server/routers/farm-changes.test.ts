// farm.changes: the designer's live "someone else changed this farm" — the
// farm's revisions now, then after each edit, deploy and undeploy, whoever
// made them; nothing for layout moves; tenants see only their own farms.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupControl, type Caller, type ControlFixture } from '../../test/control-fixture.ts';
import { expectError } from '../../test/farm-fixtures.ts';
import { subscribe } from '../../test/subscribe.ts';

let f: ControlFixture;
let op: Caller;

beforeAll(async () => {
  f = await setupControl();
  op = f.caller(f.operator);
}, 60_000);
afterAll(() => f?.drop());

type Change = { farmId: string; revision: number | null; deployedRevision: number | null; deleted: boolean };
const asChange = (v: unknown) => v as Change;

describe('farm.changes', () => {
  it('streams the revision after every edit, deploy and undeploy, and ends when the farm is deleted', async () => {
    const farm = await op.farm.create({ name: 'watched' });
    const watch = await subscribe((signal) => f.caller(f.viewer, signal).farm.changes({ farmId: farm.id }), asChange);
    expect(await watch.next()).toEqual({ farmId: farm.id, revision: farm.revision, deployedRevision: null, deleted: false });

    const v = await op.vnet.create({ farmId: farm.id, expectedRevision: farm.revision, name: 'front', cidr: '10.1.0.0/24' });
    expect(await watch.next()).toEqual({ farmId: farm.id, revision: v.farmRevision, deployedRevision: null, deleted: false });

    // Moving nodes is not an edit: nothing arrives.
    await op.farm.saveLayout({ farmId: farm.id, positions: { [v.vnet.id]: { x: 1, y: 2 } } });
    expect(await watch.next(300)).toBe('timeout');

    await op.farm.deploy({ id: farm.id, expectedRevision: v.farmRevision });
    expect(await watch.next()).toMatchObject({ revision: v.farmRevision, deployedRevision: v.farmRevision });
    await op.farm.undeploy({ id: farm.id });
    expect(await watch.next()).toMatchObject({ revision: v.farmRevision, deployedRevision: null });

    await op.farm.delete({ id: farm.id, expectedRevision: v.farmRevision });
    const last = await watch.next();
    expect(last).toEqual({ farmId: farm.id, revision: null, deployedRevision: null, deleted: true });
    await expect(watch.next(300)).rejects.toThrow(/subscription ended/);
    await watch.close();
  });

  it('is NOT_FOUND for another tenant\'s farm and for no farm, and refused without a user', async () => {
    const farm = await op.farm.create({ name: 'private' });
    /** The error a subscription fails with, whether at the call or at its first value. */
    const failure = (start: (signal: AbortSignal) => Promise<AsyncIterable<unknown>>) =>
      subscribe(start, asChange).then(async (s) => {
        throw await s.error();
      });
    await expectError(failure((signal) => f.caller(f.otherOperator, signal).farm.changes({ farmId: farm.id })), 'NOT_FOUND', 'farmId');
    await expectError(failure((signal) => f.caller(f.viewer, signal).farm.changes({ farmId: '00000000-0000-4000-8000-000000000000' })), 'NOT_FOUND', 'farmId');
    await expectError(failure((signal) => f.caller(f.viewer, signal).farm.changes({ farmId: 'not-an-id' })), 'BAD_REQUEST', 'farmId');
    await expectError(failure((signal) => f.caller(null, signal).farm.changes({ farmId: farm.id })), 'UNAUTHORIZED', null);
  });
});
