// One tenant's guest floods new destinations; another tenant on the same host
// must still reach its own. Two agent processes on loopback; on h1 a kernel
// guest (a TAP in a namespace) of one farm's vnet and an emulated guest of
// another farm's vnet, on h2 the second vnet's 50 destinations. The guest
// kernel is given static neighbours with made-up MACs, so every datagram it
// sends is a frame to a destination nobody has: a resolution on h1.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot, prerequisite } from './require.ts';
import { NetnsHarness, netnsWorks } from './netns/harness.ts';
import { tapAddonAvailable } from '../agent/native/index.ts';
import { family, spawnAgent, tempDir, type AgentProcess } from './agent-process.ts';

const ok = prerequisite(isRoot && netnsWorks() && tapAddonAvailable(), 'the VARP fairness test needs root, `ip netns` and the built TAP addon');

const PORT = 20_000 + Math.floor(Math.random() * 20_000);
const H1 = '127.0.0.2';
const H2 = '127.0.0.3';
const FLOOD = 7; // farm 1's vnet
const QUIET = 8; // farm 2's vnet
const QUIET_PEERS = 50;
const hex = (n: number) => n.toString(16).padStart(2, '0');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const emulated = (id: string, vnet: number, n: number, ip: string) => ({
  id,
  vnet,
  mac: `02:5d:00:${hex(vnet)}:${hex(n >> 8)}:${hex(n & 0xff)}`,
  ip: `${ip}/16`,
  version: 1,
  guest: { kind: 'emulated' },
});
const quietPeer = (i: number) => emulated(`q${i}/eth0`, QUIET, i, `10.8.1.${i}`);

function state(host: string, address: string, peer: string, vifs: unknown[]) {
  return {
    host,
    generation: 1,
    underlay: { address, port: PORT, multicast: null, peers: [peer] },
    // Two farms (tenants) with a vnet each, as the console writes them.
    vnets: [
      { id: FLOOD, farm: 'farm-1', security: 'none' },
      { id: QUIET, farm: 'farm-2', security: 'none' },
    ],
    vifs,
  };
}

/** Run inside the flooding guest: one UDP datagram to each address, `rounds` times, `gapMs` apart. */
const FLOOD_SCRIPT = `
const dgram = require('node:dgram');
const [count, rounds, gapMs] = process.argv.slice(1).map(Number);
const s = dgram.createSocket('udp4');
let sent = 0;
(async () => {
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < count; i++) {
      await new Promise((ok) => s.send('x', 9, '10.7.' + (1 + (i >> 8)) + '.' + (i & 0xff), () => ok()));
      sent++;
    }
    if (r + 1 < rounds) await new Promise((ok) => setTimeout(ok, gapMs));
  }
  s.close();
  console.log(sent);
})();
`;

describe.skipIf(!ok)('one vnet flooding new destinations, another vnet on the same host', () => {
  const h = new NetnsHarness();
  let h1: AgentProcess;
  let h2: AgentProcess;
  let guestNs = '';
  let cleanupDir: () => Promise<void> = async () => {};

  beforeAll(async () => {
    const t = await tempDir('softudc-fairness-');
    cleanupDir = t.cleanup;
    guestNs = h.name('flood');
    h.track(guestNs);
    const flooder = { id: 'f0/eth0', vnet: FLOOD, mac: '02:5d:00:07:00:01', ip: '10.7.0.1/16', version: 1, guest: { kind: 'tap', netns: guestNs, ifname: 'eth0' } };
    const quietSender = emulated('q0/eth0', QUIET, 0x100, '10.8.0.1');
    const quietPeers = Array.from({ length: QUIET_PEERS }, (_, i) => quietPeer(i + 1));
    [h1, h2] = await Promise.all([
      spawnAgent(t.dir, 'h1', state('h1', H1, H2, [flooder])),
      spawnAgent(t.dir, 'h2', state('h2', H2, H1, [emulated('f1/eth0', FLOOD, 2, '10.7.0.2'), ...quietPeers])),
    ]);
    // The quiet vnet's sender arrives once h2 has announced its VIFs: h1, with
    // no VIF on that vnet then, learned none of them, so each is a new destination.
    await h1.writeState({ ...state('h1', H1, H2, [flooder, quietSender]), generation: 2 });
    for (const deadline = Date.now() + 30_000; Date.now() < deadline; await sleep(100)) {
      const s = await h1.state();
      if (s.vifs.length === 2 && s.vifs.every((v) => v.status === 'up')) break;
    }
    expect((await h1.state()).vifs.map((v) => v.status)).toEqual(['up', 'up']);
  }, 90_000);

  afterAll(async () => {
    await Promise.all([h1?.stop(), h2?.stop()]);
    await h.cleanup();
    await cleanupDir();
  });

  /** Static neighbours 10.7.x.y → made-up MACs in the flooding guest, `count` of them from `first`. */
  async function neighbours(first: number, count: number): Promise<void> {
    const lines: string[] = [];
    for (let i = first; i < first + count; i++) lines.push(`neigh replace 10.7.${1 + (i >> 8)}.${i & 0xff} lladdr 02:77:00:00:${hex(i >> 8)}:${hex(i & 0xff)} dev eth0`);
    await h.mustExec(guestNs, 'sh', ['-c', `printf '%s\\n' '${lines.join("' '")}' | ip -batch -`]);
  }
  const metric = async (a: AgentProcess, name: string) => family(await a.metrics(), name);

  it('sends fewer REQUESTs than the frames to new destinations that caused them', async () => {
    const frames = 1100;
    await neighbours(0, frames);
    const before = await metric(h1, 'softudc_varp_requests_sent_total');
    const receivedBefore = await metric(h2, 'softudc_varp_requests_received_total');
    const out = await h.mustExec(guestNs, process.execPath, ['-e', FLOOD_SCRIPT, String(frames), '1', '0']);
    expect(Number(out.trim())).toBe(frames);
    // Every resolution ends (FAILED after 5 REQUESTs 3 s apart, then 3 s more) before counting.
    for (let n = 0; n < 400; n++) {
      await sleep(100);
      const incomplete = (await h1.state()).varp.filter((e) => e.vnet === FLOOD && e.state === 'INCOMPLETE').length;
      if (incomplete === 0 && n > 10) break;
    }
    const sent = (await metric(h1, 'softudc_varp_requests_sent_total')) - before;
    const received = (await metric(h2, 'softudc_varp_requests_received_total')) - receivedBefore;
    const suppressed = await metric(h1, 'softudc_varp_requests_suppressed_total');
    console.log(`amplification (real agents): ${frames} guest frames to new destinations → ${sent} REQUESTs sent, ${received} received by the peer, ${suppressed} suppressed`);
    expect(sent).toBeGreaterThan(0);
    expect(sent).toBeLessThan(frames);
  });

  it("keeps resolving the quiet vnet's new destinations during the flood", async () => {
    const destinations = 2000;
    await neighbours(0, destinations);
    // The flood at a limit: frames refused for want of room to resolve (on the host or the vnet), or resolutions replaced by newer ones.
    const refused = async () => {
      const m = await h1.metrics();
      const drops = ['too_many_resolving', 'vnet_resolving_limit'].reduce((n, r) => n + (m.get(`softudc_varp_frames_dropped_total{reason="${r}"}`) ?? 0), 0);
      return drops + (m.get('softudc_varp_resolutions_preempted_total') ?? 0);
    };
    const refusedBefore = await refused();
    expect((await h1.state()).varp.filter((e) => e.vnet === QUIET)).toEqual([]);
    // 2,000 new destinations, every 200 ms for 6 s: the flooded vnet's resolutions never run out.
    const flood = h.mustExec(guestNs, process.execPath, ['-e', FLOOD_SCRIPT, String(destinations), '30', '200'], { timeoutMs: 60_000 });
    for (let n = 0; n < 400 && (await refused()) === refusedBefore; n++) await sleep(50);
    const during = (await h1.state()).varp.filter((e) => e.vnet === FLOOD && e.state === 'INCOMPLETE').length;
    const results = await Promise.all(
      Array.from({ length: QUIET_PEERS }, (_, i) => h1.ping('q0/eth0', `10.8.1.${i + 1}`, { count: 1, timeoutMs: 3000 })),
    );
    const completed = results.filter((r) => r.received === 1).length;
    const stillFlooding = (await h1.state()).varp.filter((e) => e.vnet === FLOOD && e.state === 'INCOMPLETE').length;
    const sent = Number((await flood).trim());
    const m = await h1.metrics();
    const drops = [...m].filter(([k]) => k.startsWith('softudc_varp_frames_dropped_total')).map(([k, v]) => `${k.slice(k.indexOf('{'))} ${v}`);
    console.log(
      `quiet vnet: ${completed} of ${QUIET_PEERS} resolutions completed during a flood of ${destinations} new destinations ` +
        `(${sent} frames; flooded vnet resolving ${during} when the pings began, ${stillFlooding} after; h1 drops: ${drops.join(', ')})`,
    );
    expect(await refused()).toBeGreaterThan(refusedBefore); // the flood was at a limit when the pings began
    expect(during).toBeGreaterThan(0);
    expect(stillFlooding).toBeGreaterThan(0);
    expect(completed).toBe(QUIET_PEERS);
  });
});
