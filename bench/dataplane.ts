// Dataplane benchmark: throughput and packet rate between real kernel guests
// through two agents, against the same figures over kernel VXLAN and tinc
// (switch mode) between the same host namespaces; VARP first-packet
// resolution latency; and the ping gap while a VIF migrates between agents.
//
//   npm run bench:dataplane            (root; needs iperf3, tinc optional)
//   BENCH_SECONDS=10 npm run bench:dataplane
//   BENCH_PROFILE=dir npm run bench:dataplane   (agents write --cpu-prof profiles to dir/agent-hA, dir/agent-hB)
//   BENCH_ONLY=agents npm run bench:dataplane   (skip the reference paths)
//   BENCH_ONLY=vm npm run bench:dataplane       (only the QEMU VM rows: bench/dataplane/vm.ts)
//   BENCH_ONLY=groups npm run bench:dataplane   (only the security groups rows: 0, 10, 100 rules per VIF)
//   BENCH_ONLY=nskernel npm run bench:dataplane (only the kernel fast path against kernel VXLAN)
//   BENCH_ROUNDS=5 BENCH_ROUND_SECONDS=3        (that comparison's interleaved rounds and their iperf3 length)
//   SOFTUDC_UNDERLAY_BATCH=0 / SOFTUDC_UNDERLAY_GSO=0 / SOFTUDC_TAP_OFFLOAD=0: the agents' fallbacks
//
// With the batched underlay (the default) the agents are measured a second
// time with the dgram underlay, in the same run, for comparison; then with
// namespace guests on the kernel fast path, in rounds interleaved with
// kernel VXLAN (dataplane/nskernel.ts: both rows are medians of the rounds,
// compared after the table); then with VM-shape guests behind the test
// hypervisor, with the kernel fast path and without (dataplane/vms.ts).
// The userspace rows set SOFTUDC_DATAPATH=userspace.
//
// Everything runs in namespaces this process creates (underlay 198.18.0.0/24)
// and deletes at the end.
//
// Over 300 lines: the sections share one harness, one underlay and one
// results table; each section's own setup lives in bench/dataplane/.
import { cpus, loadavg } from 'node:os';
import { isRoot } from '../test/require.ts';
import { NetnsHarness, hasCommand, netnsWorks } from '../test/netns/harness.ts';
import { AgentProcess, agentCliPresent, stateDir, type HostState, type VifState } from '../test/netns/agents.ts';
import { tapAddonAvailable } from '../agent/native/index.ts';
import { agentConfig } from '../config/index.ts';
import { fail, finish } from './verdict.ts';
import { summariseRtts, type GapSummary } from './dataplane/summary.ts';
import { measurePair as measure, percentile, pingRtts, startGapPing, type PathResult } from './dataplane/measure.ts';
import { makeUnderlay, tincSwitch, TINCD, type GuestPair, type Underlay } from './dataplane/reference.ts';
import { tapWire } from './dataplane/tapwire.ts';
import { underlayReport } from './dataplane/agents.ts';
import { printVmSection, vmSection } from './dataplane/vm.ts';
import { vmPass } from './dataplane/vms.ts';
import { groupsSection } from './dataplane/groups.ts';
import { nsKernelVsVxlan, printComparison, type NsKernelRounds } from './dataplane/nskernel.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
/** The kernel path against kernel VXLAN: interleaved rounds, each iperf3 run this long (dataplane/nskernel.ts). */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const ROUND_SECONDS = Number(process.env.BENCH_ROUND_SECONDS ?? 3);
const VARP_SAMPLES = Number(process.env.BENCH_VARP_SAMPLES ?? 60);
const PROFILE_DIR = process.env.BENCH_PROFILE;
/** BENCH_ONLY=agents skips the reference paths (a quicker run while tuning the agents); =vm runs only the VM rows. */
const ONLY_AGENTS = process.env.BENCH_ONLY === 'agents';
const ONLY_VM = process.env.BENCH_ONLY === 'vm';
const ONLY_GROUPS = process.env.BENCH_ONLY === 'groups';
const ONLY_NSKERNEL = process.env.BENCH_ONLY === 'nskernel';
/** The agents' settings, as the agents this benchmark starts will read them. */
const AGENT = agentConfig();
const BATCHED = AGENT.SOFTUDC_UNDERLAY_BATCH;
const AGENTS = `agents (TAP guests, userspace${BATCHED ? '' : ', dgram underlay'})`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const fmt = (n: number | undefined, d = 0) => (n === undefined || Number.isNaN(n) ? '—' : n.toFixed(d));

/** measurePair (dataplane/measure.ts) with BENCH_SECONDS-long iperf3 runs. */
const measurePair = (h: NetnsHarness, path: string, pair: GuestPair, cpu?: () => Promise<number>) => measure(h, path, pair, { seconds: SECONDS, cpu });

function vif(id: string, vnet: number, mac: string, ip: string, guest: VifState['guest'], version = 1): VifState {
  return { id, vnet, mac, ip, version, guest };
}

const mac = (host: number, n: number) => `02:5d:00:${host.toString(16).padStart(2, '0')}:${(n >> 8).toString(16).padStart(2, '0')}:${(n & 0xff).toString(16).padStart(2, '0')}`;

async function agentsSection(h: NetnsHarness, u: Underlay, out: PathResult[]): Promise<void> {
  const dir = await stateDir();
  const g1 = h.name('ag1');
  const g2 = h.name('ag2');
  const gm = await h.addNs('agm'); // exists before the agents: neither deletes it on migration
  h.track(g1);
  h.track(g2);
  const vnets: HostState['vnets'] = [{ id: 100, security: 'none', mtu: 1400 }];
  // Emulated guests on host B answer ARP and ping: targets for VARP resolution.
  const emulated = Array.from({ length: VARP_SAMPLES }, (_, i) => vif(`e${i}/eth0`, 100, mac(0xb, 0x100 + i), `10.100.0.${100 + i}/24`, { kind: 'emulated' }));
  const moving = (version: number) => vif('gm/eth0', 100, mac(0xa, 9), '10.100.0.9/24', { kind: 'tap', ifname: 'eth0', netns: gm }, version);
  const stateA: HostState = {
    host: 'hA',
    generation: 1,
    underlay: { address: u.ipA, port: 1798, multicast: null, peers: [u.ipB] },
    vnets,
    vifs: [vif('g1/eth0', 100, mac(0xa, 1), '10.100.0.1/24', { kind: 'tap', ifname: 'eth0', netns: g1 }), moving(1)],
  };
  const stateB: HostState = {
    host: 'hB',
    generation: 1,
    underlay: { address: u.ipB, port: 1798, multicast: null, peers: [u.ipA] },
    vnets,
    vifs: [vif('g2/eth0', 100, mac(0xb, 2), '10.100.0.2/24', { kind: 'tap', ifname: 'eth0', netns: g2 }), ...emulated],
  };
  // One directory per agent and Node's default file names: the loader's
  // worker thread writes a profile too, and a fixed name would let it
  // overwrite the main thread's (the largest file in each directory).
  const nodeArgs = (name: string) => (PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}/agent-${name}`] : []);
  const a = new AgentProcess(h, u.hA, `${dir.dir}/hA.json`, stateA, nodeArgs('hA'));
  const b = new AgentProcess(h, u.hB, `${dir.dir}/hB.json`, stateB, nodeArgs('hB'));
  a.env = b.env = { SOFTUDC_DATAPATH: 'userspace' };
  try {
    await Promise.all([a.start(), b.start()]);
    const pair = { a: { ns: g1, ip: '10.100.0.1' }, b: { ns: g2, ip: '10.100.0.2' } };
    out.unshift(await measurePair(h, AGENTS, pair, async () => (await a.cpuSeconds()) + (await b.cpuSeconds())));
    await underlayReport(a, b);

    // VARP: the first ping to a fresh emulated guest needs an ARP exchange
    // (the request flooded to host B, whose answer goes back to g1, known to
    // B since the first target) and a VARP resolution on host A of the
    // target's MAC (a FRAME never creates a cache entry, spec "VARP"). The
    // second ping to the same address finds everything cached.
    const first: number[] = [];
    const warm: number[] = [];
    const extra: number[] = [];
    for (const e of emulated) {
      const ip = e.ip.split('/')[0]!;
      const r1 = await pingRtts(h, g1, ip, ['-c', '1', '-W', '3']);
      const r2 = await pingRtts(h, g1, ip, ['-c', '1', '-W', '3']);
      if (r1.rtts[0] !== undefined) first.push(r1.rtts[0]);
      if (r2.rtts[0] !== undefined) warm.push(r2.rtts[0]);
      if (r1.rtts[0] !== undefined && r2.rtts[0] !== undefined) extra.push(r1.rtts[0] - r2.rtts[0]);
    }
    console.log(`\nVARP first-packet resolution (ping from a TAP guest on host A to ${emulated.length} fresh emulated guests on host B)`);
    const f = summariseRtts(first, emulated.length, 'VARP first ping');
    const w = summariseRtts(warm, emulated.length, 'VARP second ping');
    console.log(`  first ping RTT (guest ARP, VARP resolution of the target on host A, echo): p50 ${fmt(f.p50, 2)} ms, p99 ${fmt(f.p99, 2)} ms (${f.answered}/${f.asked} answered)`);
    if (f.failure) fail(f.failure);
    if (extra.length) console.log(`  resolution cost (first minus second, per target):                       p50 ${fmt(percentile(extra, 50), 2)} ms, p99 ${fmt(percentile(extra, 99), 2)} ms`);
    console.log(`  second ping RTT (all cached):                                            p50 ${fmt(w.p50, 2)} ms, p99 ${fmt(w.p99, 2)} ms (${w.answered}/${w.asked} answered)`);
    if (w.failure) fail(w.failure);

    // Migration: g1 pings the moving guest every 10 ms while its VIF moves
    // from agent A to agent B (A drops it, B attaches it with version 2).
    for (let i = 0; i < 20; i++) if ((await pingRtts(h, g1, '10.100.0.9', ['-c', '1', '-W', '1'])).received) break;
    const gaps: GapSummary[] = [];
    let version = 1;
    let onA = true;
    for (let round = 0; round < 3; round++) {
      const ping = startGapPing(h, g1, '10.100.0.9', 10);
      await sleep(1000);
      version++;
      const from = onA ? a : b;
      const to = onA ? b : a;
      const without = { ...from.state, generation: from.state.generation + 1, vifs: from.state.vifs.filter((v) => v.id !== 'gm/eth0') };
      const withIt = { ...to.state, generation: to.state.generation + 1, vifs: [...to.state.vifs, moving(version)] };
      await from.apply(without);
      await to.apply(withIt);
      await Promise.all([from.waitApplied(without.generation), to.waitApplied(withIt.generation)]);
      await sleep(1500);
      gaps.push(await ping.stop());
      onA = !onA;
    }
    console.log(`\nMigration (10 ms ping to a namespace guest whose VIF moves between agents, 3 moves)`);
    console.log(`  longest gap per move: ${gaps.map((g) => (g.failure ? 'not measured' : `${g.gapMs.toFixed(0)} ms (${g.lostInGap} lost)`)).join(', ')}`);
    gaps.forEach((g, i) => g.failure && fail(`migration, move ${i + 1}: ${g.failure}`));
  } catch (err) {
    out.unshift({ path: AGENTS, error: (err as Error).message });
  } finally {
    await a.stop();
    await b.stop();
    await dir.remove();
  }
}

/**
 * The same two agents with Node's dgram socket on the underlay
 * (SOFTUDC_UNDERLAY_BATCH=0, the fallback without the addon's batched I/O),
 * in the same run: only TCP, UDP and ping.
 */
async function plainUnderlayPass(h: NetnsHarness, u: Underlay, out: PathResult[]): Promise<void> {
  const dir = await stateDir();
  const g3 = h.name('ag3');
  const g4 = h.name('ag4');
  h.track(g3);
  h.track(g4);
  const vnets: HostState['vnets'] = [{ id: 100, security: 'none', mtu: 1400 }];
  const state = (host: string, self: string, peer: string, v: VifState): HostState => ({
    host,
    generation: 1,
    underlay: { address: self, port: 1798, multicast: null, peers: [peer] },
    vnets,
    vifs: [v],
  });
  const a = new AgentProcess(h, u.hA, `${dir.dir}/hA.json`, state('hA', u.ipA, u.ipB, vif('g3/eth0', 100, mac(0xa, 3), '10.100.0.3/24', { kind: 'tap', ifname: 'eth0', netns: g3 })));
  const b = new AgentProcess(h, u.hB, `${dir.dir}/hB.json`, state('hB', u.ipB, u.ipA, vif('g4/eth0', 100, mac(0xb, 4), '10.100.0.4/24', { kind: 'tap', ifname: 'eth0', netns: g4 })));
  const path = 'agents (TAP guests, userspace, dgram underlay)';
  a.env = b.env = { SOFTUDC_DATAPATH: 'userspace' };
  // The agents inherit this process's environment when they start.
  process.env.SOFTUDC_UNDERLAY_BATCH = '0';
  try {
    await Promise.all([a.start(), b.start()]);
    delete process.env.SOFTUDC_UNDERLAY_BATCH;
    const pair = { a: { ns: g3, ip: '10.100.0.3' }, b: { ns: g4, ip: '10.100.0.4' } };
    out.push(await measurePair(h, path, pair, async () => (await a.cpuSeconds()) + (await b.cpuSeconds())));
    await underlayReport(a, b);
  } catch (err) {
    out.push({ path, error: (err as Error).message });
  } finally {
    delete process.env.SOFTUDC_UNDERLAY_BATCH;
    await a.stop();
    await b.stop();
    await dir.remove();
  }
}

async function main(): Promise<void> {
  if (!isRoot || !netnsWorks()) throw new Error('bench:dataplane needs root and `ip netns` (network namespaces)');
  if (!hasCommand('/usr/bin/iperf3')) throw new Error('iperf3 is missing: bash .ci/install-deps.sh');
  const offload = AGENT.SOFTUDC_TAP_OFFLOAD;
  console.log(`dataplane benchmark: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}, ${SECONDS} s per iperf3 run, TAP offload ${offload ? 'on' : 'off (SOFTUDC_TAP_OFFLOAD=0)'}, underlay ${BATCHED ? `batched${AGENT.SOFTUDC_UNDERLAY_GSO ? '' : ' without GSO/GRO'} (then a dgram pass)` : 'dgram (SOFTUDC_UNDERLAY_BATCH=0)'}`);
  console.log(`load average at start: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  const h = new NetnsHarness();
  const results: PathResult[] = [];
  let vm: Awaited<ReturnType<typeof vmSection>> | undefined;
  let nk: NsKernelRounds | undefined;
  try {
    const u = await makeUnderlay(h);
    if (ONLY_VM) return printVmSection(await vmSection(h, u, SECONDS));
    if (ONLY_NSKERNEL) {
      nk = await nsKernelVsVxlan(h, u, (p, pair, o) => measure(h, p, pair, { ...o, seconds: ROUND_SECONDS }), ROUNDS);
      results.push(...nk.rows);
      return;
    }
    if (agentCliPresent() && tapAddonAvailable()) {
      const groups = await groupsSection(h, u, (p, pair) => measurePair(h, p, pair));
      if (ONLY_GROUPS) return printResults(groups, true);
      await agentsSection(h, u, results);
      results.push(...groups);
      if (BATCHED) await plainUnderlayPass(h, u, results);
      // Against kernel VXLAN in interleaved rounds: its row goes with the references below.
      nk = await nsKernelVsVxlan(h, u, (p, pair, o) => measure(h, p, pair, { ...o, seconds: ROUND_SECONDS }), ROUNDS);
      results.push(nk.rows[0]);
      // VM guests, with and without the kernel fast path (agent/bpf/).
      for (const [i, dp] of (['kernel', 'userspace'] as const).entries()) results.push(await vmPass(h, u, dp, i, (p, pair, cpu) => measurePair(h, p, pair, cpu)));
    } else results.push({ path: AGENTS, error: 'bin/softudc-agent.js or the TAP addon is missing' });
    if (ONLY_AGENTS) return;
    if (tapAddonAvailable()) {
      // The same TAP I/O with no switch, encapsulation or underlay: a ceiling.
      const w = await tapWire(h, 'tw');
      const cpu0 = process.cpuUsage();
      try {
        const r = await measurePair(h, 'TAP ↔ TAP wire in one process (TAP I/O ceiling)', w);
        const c = process.cpuUsage(cpu0);
        r.cpu = `${(((c.user + c.system) / 1e6 / (2 * SECONDS + 1)) * 100).toFixed(0)}% of a core (approx.)`;
        results.push(r);
      } finally {
        await w.stop();
      }
    }
    if (nk) results.push(nk.rows[1]);
    if (TINCD) {
      const t = await tincSwitch(h, u, 'tc');
      try {
        results.push(await measurePair(h, 'tinc 1.0 switch mode, no cipher (userspace reference)', t));
      } finally {
        await t.stop();
      }
    } else results.push({ path: 'tinc switch mode', skipped: 'tincd not installed' });
    vm = await vmSection(h, u, SECONDS);
  } finally {
    await h.cleanup();
    // Also after the partial runs (BENCH_ONLY=agents, =nskernel).
    if (!ONLY_VM && !ONLY_GROUPS) {
      printResults(results);
      if (nk) printComparison(nk);
    }
  }
  if (vm) printVmSection(vm);
}

function printResults(results: PathResult[], vsFirst = false): void {
  console.log('\n| path | TCP Mbit/s | TCP retransmits | UDP 64 B received pps (sent) | ping RTT p50 ms, 50 ms / 2 ms apart | CPU |');
  console.log('|---|---:|---:|---:|---:|---|');
  for (const r of results) {
    if (r.skipped) {
      console.log(`| ${r.path} | not run: ${r.skipped} | | | | |`);
      continue;
    }
    if (r.error) {
      console.log(`| ${r.path} | error: ${r.error.split('\n')[0]} | | | | |`);
      continue;
    }
    console.log(
      `| ${r.path} | ${fmt(r.tcp?.mbps)} | ${fmt(r.tcp?.retransmits)} | ${fmt(r.udp?.pps)} (${fmt(r.udp?.sentPps)}) | ${fmt(r.rttMs, 3)} / ${fmt(r.hotRttMs, 3)} | ${r.cpu ?? ''} |`,
    );
  }
  if (vsFirst) {
    const [base, ...rest] = results;
    for (const r of rest) {
      if (!base?.udp || !base.tcp || !r.udp || !r.tcp) continue;
      console.log(`${r.path}: UDP 64 B ${((r.udp.pps / base.udp.pps) * 100).toFixed(0)}%, TCP ${((r.tcp.mbps / base.tcp.mbps) * 100).toFixed(0)}% of "${base.path}"`);
    }
  }
  // After the table, so it stays one table.
  for (const r of results) if (r.error) fail(`${r.path}: ${r.error.split('\n')[0]}`);
}

main().then(
  () => finish('bench:dataplane'),
  (err: Error) => {
    console.error(`bench:dataplane: ${err.message}`);
    process.exit(1);
  },
);
