// The end-to-end feature matrix: every feature configured only through the
// console's API (tRPC over HTTP with API tokens), deployed with farm.deploy
// (wait) to managed agents in host namespaces, and proven with real traffic
// from VMs' kernels (guest namespaces behind the agents' TAPs): ping, iperf3
// and tcpdump in the guests and on the underlay. One console, one Postgres
// database and one set of agents serve every row (test/matrix/world.ts);
// each row builds its own farm, so a row runs alone too:
//   flock /tmp/softudc-suite.lock npm run test:matrix -- -t 'conf vnet'
// Each row records one line of what it measured; the run ends with all of
// them (test/summary-reporter.ts).
import { afterAll, beforeAll, describe } from 'vitest';
import { isRoot, prerequisite } from './require.ts';
import { hasCommand, netnsWorks } from './netns/harness.ts';
import { agentCliPresent } from './netns/agents.ts';
import { tapAddonAvailable } from '../agent/native/index.ts';
import { MATRIX_POSTGRES, MatrixWorld, postgresReachable } from './matrix/world.ts';
import { basicRows } from './matrix/rows-basic.ts';
import { sealedRows } from './matrix/rows-sealed.ts';
import { routingRows } from './matrix/rows-routing.ts';
import { movesRows } from './matrix/rows-moves.ts';
import { admissionRows } from './matrix/rows-admission.ts';
import { dhcpRows } from './matrix/rows-dhcp.ts';
import { sgRows } from './matrix/rows-sg.ts';
import { externalRows } from './matrix/rows-external.ts';
import { vmRows } from './matrix/rows-vm.ts';
import { liveRows } from './matrix/rows-live.ts';
import { redactUrl } from '../server/db/index.ts';

const tools = ['/usr/bin/tcpdump', '/usr/bin/curl', '/usr/bin/iperf3', '/usr/sbin/nft', '/bin/busybox', '/usr/bin/python3'];
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

  const basic = basicRows(() => w);
  const sealed = sealedRows(() => w);
  const routing = routingRows(() => w);
  const moves = movesRows(() => w);
  const admission = admissionRows(() => w);
  const dhcp = dhcpRows(() => w);
  const sg = sgRows(() => w);
  basic.plain();
  sealed.auth();
  sealed.conf();
  sealed.rotation();
  sealed.varp();
  basic.portSecurity();
  basic.bandwidth();
  basic.vlan();
  routing.routers();
  routing.firewall();
  moves.relays();
  moves.proxy();
  moves.migration();
  admission.admission();
  dhcp.dhcpDns();
  sg.enforced();
  sg.migration();
  sg.remoteGroup();
  externalRows(() => w).external();
  vmRows(() => w).realVm();
  liveRows(() => w).liveMigration();
});
