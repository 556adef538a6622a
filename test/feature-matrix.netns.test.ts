// The end-to-end feature matrix: every feature configured only through the
// console's API (tRPC over HTTP with API tokens), deployed with farm.deploy
// (wait) to managed agents in host namespaces, and proven with real traffic
// from VMs' kernels (guest namespaces behind the agents' TAPs): ping, iperf3
// and tcpdump in the guests and on the underlay. One console, one Postgres
// database and one set of agents serve every row (test/matrix/world.ts);
// each row builds its own farm, so a row runs alone too:
//   flock /tmp/softudc-suite.lock npx vitest run --config vitest.netns.config.ts test/feature-matrix.netns.test.ts -t 'conf vnet'
// Each row records one line of what it measured; the run ends with all of
// them (test/summary-reporter.ts).
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { isRoot, prerequisite } from './require.ts';
import { hasCommand, netnsWorks } from './netns/harness.ts';
import { agentCliPresent } from './netns/agents.ts';
import { tapAddonAvailable } from '../agent/native/index.ts';
import { MATRIX_POSTGRES, MatrixWorld, postgresReachable } from './matrix/world.ts';
import { MatrixFarm } from './matrix/farm.ts';
import { row } from './matrix/row.ts';
import { neighbourMac, ping, reaches, tcpdumpLines } from './matrix/traffic.ts';
import { redactUrl } from '../server/db/index.ts';

const tools = ['/usr/bin/tcpdump', '/usr/bin/curl', '/usr/bin/iperf3', '/usr/sbin/nft'];
const ok =
  prerequisite(
    isRoot && netnsWorks() && tapAddonAvailable() && agentCliPresent() && tools.every(hasCommand),
    `the feature matrix needs root, \`ip netns\`, the TAP addon, bin/softudc-agent.js and ${tools.join(', ')} (bash .ci/install-deps.sh)`,
  ) && prerequisite(await postgresReachable(MATRIX_POSTGRES), `the feature matrix needs a Postgres server at ${redactUrl(MATRIX_POSTGRES)} (DATABASE_URL)`);

describe.skipIf(!ok)('feature matrix: console → API → agents → packets', () => {
  let w: MatrixWorld;

  beforeAll(async () => {
    w = await MatrixWorld.start();
  }, 120_000);

  afterAll(async () => {
    await w?.close();
  });

  row('plain vnets', async (note) => {
    const { h } = w;
    const a = await MatrixFarm.create(w, 'plain-a');
    const b = await MatrixFarm.create(w, 'plain-b');
    // Two vnets of two farms with the same prefix and the same addresses.
    const va = await a.vnet('lan', '10.50.0.0/24');
    const vb = await b.vnet('lan', '10.50.0.0/24');
    const vms = {
      a1: await a.vm('a1', 'h1', va, '10.50.0.11'),
      a2: await a.vm('a2', 'h2', va, '10.50.0.12'),
      a3: await a.vm('a3', 'h2', va, '10.50.0.13'),
      b1: await b.vm('b1', 'h1', vb, '10.50.0.11'),
      b2: await b.vm('b2', 'h2', vb, '10.50.0.12'),
    };
    await Promise.all([a.deploy(), b.deploy()]);
    const [a1, a2, , b1, b2] = await Promise.all([a.boot(vms.a1), a.boot(vms.a2), a.boot(vms.a3), b.boot(vms.b1), b.boot(vms.b2)]);
    expect(await reaches(h, a1!, '10.50.0.12'), w.agentLogs()).toBe(true);
    expect(await reaches(h, b1!, '10.50.0.12')).toBe(true);
    const inA = await ping(h, a1!, '10.50.0.12', 20);
    let inB = { sent: 0, received: 0 };
    let onlyInA = { sent: 0, received: 0 };
    // Whatever vnet B carries, none of it may reach a guest of vnet A.
    const leaked = await tcpdumpLines(h, a2!.ns, 'eth0', ['ether', 'src', b1!.mac], async () => {
      inB = await ping(h, b1!, '10.50.0.12', 20);
      onlyInA = await ping(h, b1!, '10.50.0.13', 5, 0.2);
    });
    const answeredBy = { a: await neighbourMac(h, a1!, '10.50.0.12'), b: await neighbourMac(h, b1!, '10.50.0.12') };
    note(
      `plain vnets: ${inA.received}/${inA.sent} pings across hosts on vnet A, ${inB.received}/${inB.sent} on vnet B with the same addresses ` +
        `(each answered by its own vnet's guest: ${answeredBy.a === a2!.mac && answeredBy.b === b2!.mac}); ` +
        `B → an address only on A ${onlyInA.received}/${onlyInA.sent}; ${leaked.length} frames of B seen in A's guest`,
    );
    expect(inA).toEqual({ sent: 20, received: 20 });
    expect(inB).toEqual({ sent: 20, received: 20 });
    expect(answeredBy).toEqual({ a: a2!.mac, b: b2!.mac });
    expect(onlyInA.received).toBe(0);
    expect(leaked).toEqual([]);
  });
});
