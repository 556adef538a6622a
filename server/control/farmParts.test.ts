// A farm compiled again on the way of another farm's change may be another
// tenant's: its compile error must not name it to the caller.
import { describe, expect, it } from 'vitest';
import type { CompileFarm, CompileHost } from '../compile/index.ts';
import { AppError } from '../errors.ts';
import { compileParts } from './farmParts.ts';

const hosts: CompileHost[] = [{ id: 'h1', name: 'h1', address: '127.0.0.2', port: 1798, segmentId: null }];

/** A farm whose VM names a vnet the farm does not have: it cannot be compiled. */
const broken = (id: string, name: string): CompileFarm => ({
  id, name, revision: 1, vnets: [], routers: [], routerLinks: [], firewalls: [],
  vms: [{ id: `${id}-vm`, name: 'secret-vm', hostId: 'h1', guestKind: 'emulated', locationVersion: 1,
    vifs: [{ id: `${id}-vif`, serial: 1, name: 'eth0', vnid: 4242, mac: '02:5d:00:00:00:01', ip: '10.0.0.10' }] }],
});

function refusal(about: string | undefined): AppError {
  try {
    compileParts([{ farm: broken('f-other', 'other-tenants-farm'), warnings: [], unknownHosts: [] }], hosts, about);
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    return err as AppError;
  }
  throw new Error('compiled a farm that names a missing vnet');
}

describe('compileParts', () => {
  it("names the farm in its error, with the field, to a change about that farm or about every host (an admin's)", () => {
    for (const about of ['f-other', undefined]) {
      const e = refusal(about);
      expect(e.code).toBe('BAD_REQUEST');
      expect(e.message).toContain('other-tenants-farm');
      expect(e.field).toBeDefined();
    }
  });

  it('names nothing of another farm that cannot be compiled again on the way of a change about one farm', () => {
    const e = refusal('f-mine');
    expect(e.code).toBe('BAD_REQUEST');
    expect(e.message).toMatch(/another deployed farm .* cannot be compiled again/);
    expect(e.message).not.toContain('other-tenants-farm');
    expect(e.message).not.toContain('secret-vm');
    expect(e.message).not.toContain('f-other');
    expect(e.field).toBeUndefined();
  });
});
