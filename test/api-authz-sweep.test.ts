// Every procedure of the API, found by walking the router (so a procedure
// added later is covered without touching this file), called by nobody, by
// an agent's host credential, by a user where agents belong, and by a
// viewer: each must refuse before it reads its input or the database.
import { TRPCError } from '@trpc/server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupControl, type ControlFixture, type EnrolledHost } from './control-fixture.ts';
import { callProcedure, procedures } from './procedures.ts';

/** Procedures anyone may call: signing in and out, and an agent trading its one-time token. */
const PUBLIC = new Set(['auth.login', 'auth.logout', 'host.enroll']);
/**
 * Mutations a viewer may make: about their own account and their own API
 * tokens, and starting a ping or traceroute from a router of their tenant
 * (read-only diagnostics, docs/router-manager.md), and planning a farm document (a read sent as a
 * mutation because a document is too large for a URL).
 */
const VIEWER_MUTATIONS = new Set([
  'auth.changePassword', 'apiToken.create', 'apiToken.revoke', 'router.ping', 'router.traceroute', 'farm.planDocument',
]);

let f: ControlFixture;
let host: EnrolledHost;

beforeAll(async () => {
  f = await setupControl();
  host = await f.host('sweep-1', '127.0.0.2');
}, 60_000);
afterAll(() => f?.drop());

/** The tRPC code a call fails with (for a subscription: at the call or its first value), or 'ok'. */
async function outcome(actor: Parameters<ControlFixture['caller']>[0], path: string): Promise<string> {
  const abort = new AbortController();
  try {
    await callProcedure(f.caller(actor, abort.signal), path, {}, abort, 2_000);
    return 'ok';
  } catch (e) {
    return e instanceof TRPCError ? e.code : `not a TRPCError: ${String(e)}`;
  }
}

describe('authorization of every procedure', () => {
  it('finds the whole API', () => {
    expect(procedures.length).toBeGreaterThan(90);
    expect(procedures.map((p) => p.path)).toEqual(expect.arrayContaining(['farm.changes', 'agent.report', 'router.ping', 'host.revokeCredential']));
  });

  it('refuses every non-public procedure to an anonymous caller with UNAUTHORIZED', async () => {
    const wrong: string[] = [];
    for (const p of procedures) {
      if (PUBLIC.has(p.path)) continue;
      const got = await outcome(null, p.path);
      if (got !== 'UNAUTHORIZED') wrong.push(`${p.path}: ${got}`);
    }
    expect(wrong).toEqual([]);
  });

  it('gives a host credential only the agent procedures, and users none of them', async () => {
    const wrong: string[] = [];
    for (const p of procedures) {
      if (PUBLIC.has(p.path)) continue;
      const agentOnly = p.path.startsWith('agent.');
      const asHost = await outcome(host.actor, p.path);
      const asAdmin = agentOnly ? await outcome(f.admin, p.path) : null;
      if (!agentOnly && asHost !== 'UNAUTHORIZED') wrong.push(`${p.path} as host: ${asHost}`);
      if (agentOnly && asHost === 'UNAUTHORIZED') wrong.push(`${p.path} as host: refused`);
      if (agentOnly && asAdmin !== 'UNAUTHORIZED') wrong.push(`${p.path} as admin: ${asAdmin}`);
    }
    expect(wrong).toEqual([]);
  });

  it('lets a viewer change nothing but their own account and tokens', async () => {
    const wrong: string[] = [];
    for (const p of procedures) {
      if (p.type !== 'mutation' || PUBLIC.has(p.path) || p.path.startsWith('agent.')) continue;
      const got = await outcome(f.viewer, p.path);
      // Empty input: an allowed mutation fails validation (BAD_REQUEST), a refused one never gets that far.
      if (VIEWER_MUTATIONS.has(p.path) ? got !== 'BAD_REQUEST' : got !== 'FORBIDDEN') wrong.push(`${p.path}: ${got}`);
    }
    expect(wrong).toEqual([]);
  });
});
