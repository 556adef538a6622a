// Two hosts (network namespaces joined by a veth underlay), one agent process
// on each, real kernels as guests (TAP guests in their own namespaces). The
// kernel's ping and iperf3 must cross hosts on vnet 100; the vnet-200 guest
// must reach nobody, even with an address in the same subnet.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot, prerequisite } from './require.ts';
import { NetnsHarness, hasCommand, netnsWorks } from './netns/harness.ts';
import { AgentProcess, agentCliPresent, stateDir, type HostState } from './netns/agents.ts';
import { tapAddonAvailable } from '../agent/native/index.ts';
import { iperfTcp, pingRtts } from '../bench/dataplane/measure.ts';

const ok = prerequisite(
  isRoot && netnsWorks() && tapAddonAvailable() && agentCliPresent() && hasCommand('/usr/bin/iperf3') && hasCommand('/usr/bin/curl'),
  'the dataplane test needs root, `ip netns`, the TAP addon, bin/softudc-agent.js, iperf3 and curl (bash .ci/install-deps.sh)',
);

describe.skipIf(!ok)('dataplane between two hosts with TAP guests', () => {
  const h = new NetnsHarness();
  let dir: { dir: string; remove(): Promise<void> };
  let agentA: AgentProcess;
  let agentB: AgentProcess;
  const g1 = h.name('g1');
  const g2 = h.name('g2');
  const g3 = h.name('g3');

  beforeAll(async () => {
    dir = await stateDir();
    const hA = await h.addNs('hA');
    const hB = await h.addNs('hB');
    await h.veth({ ns: hA, ifname: 'u0', cidr: '198.18.0.1/24' }, { ns: hB, ifname: 'u0', cidr: '198.18.0.2/24' });
    for (const g of [g1, g2, g3]) h.track(g); // the agents create them
    const vnets: HostState['vnets'] = [
      { id: 100, security: 'none', mtu: 1400 },
      { id: 200, security: 'none', mtu: 1400 },
    ];
    const stateA: HostState = {
      host: 'hA',
      generation: 1,
      underlay: { address: '198.18.0.1', port: 1798, multicast: null, peers: ['198.18.0.2'] },
      vnets,
      vifs: [{ id: 'g1/eth0', vnet: 100, mac: '02:5d:00:64:00:01', ip: '10.100.0.1/24', version: 1, guest: { kind: 'tap', ifname: 'eth0', netns: g1 } }],
    };
    const stateB: HostState = {
      host: 'hB',
      generation: 1,
      underlay: { address: '198.18.0.2', port: 1798, multicast: null, peers: ['198.18.0.1'] },
      vnets,
      vifs: [
        { id: 'g2/eth0', vnet: 100, mac: '02:5d:00:64:00:02', ip: '10.100.0.2/24', version: 1, guest: { kind: 'tap', ifname: 'eth0', netns: g2 } },
        // Same subnet, different vnet: must stay isolated.
        { id: 'g3/eth0', vnet: 200, mac: '02:5d:00:c8:00:03', ip: '10.100.0.3/24', version: 1, guest: { kind: 'tap', ifname: 'eth0', netns: g3 } },
      ],
    };
    agentA = new AgentProcess(h, hA, `${dir.dir}/hA.json`, stateA);
    agentB = new AgentProcess(h, hB, `${dir.dir}/hB.json`, stateB);
    await Promise.all([agentA.start(), agentB.start()]);
  });

  afterAll(async () => {
    await agentA?.stop();
    await agentB?.stop();
    await h.cleanup();
    await dir?.remove();
  });

  it('carries the kernel ping between vnet-100 guests across hosts', async () => {
    // The first exchange resolves ARP and VARP; the next five must all arrive.
    await pingRtts(h, g1, '10.100.0.2', ['-c', '1', '-W', '5']);
    const r = await pingRtts(h, g1, '10.100.0.2', ['-c', '5', '-i', '0.2', '-W', '2']);
    console.log(`ping g1 → g2 across hosts: ${r.received}/${r.sent}, rtt ${r.rtts.map((x) => x.toFixed(2)).join(' ')} ms`);
    expect(r.received).toBe(5);
    const back = await pingRtts(h, g2, '10.100.0.1', ['-c', '3', '-i', '0.2', '-W', '2']);
    expect(back.received).toBe(3);
  });

  it('carries an iperf3 TCP stream', async () => {
    const r = await iperfTcp(h, { ns: g2, ip: '10.100.0.2' }, g1, 3);
    console.log(`iperf3 TCP g1 → g2 through the agents: ${r.mbps.toFixed(1)} Mbit/s (${(r.bytes / 1e6).toFixed(1)} MB in ${r.seconds.toFixed(1)} s, ${r.retransmits} retransmits)`);
    expect(r.seconds).toBeGreaterThan(2.5);
    expect(r.bytes).toBeGreaterThan(1_000_000);
  });

  it('isolates the vnet-200 guest even inside the same subnet', async () => {
    for (const target of ['10.100.0.1', '10.100.0.2']) {
      const r = await h.exec(g3, 'ping', ['-n', '-c', '4', '-i', '0.2', '-W', '1', target], { timeoutMs: 20_000 });
      expect(r.stdout).toMatch(/4 packets transmitted, 0 received/);
      expect(r.stdout).toMatch(/100% packet loss/);
    }
    // Had one of g3's ARP requests leaked, the target kernels would have
    // learnt g3's address from it.
    for (const ns of [g1, g2]) {
      const neigh = await h.mustExec(ns, 'ip', ['neigh', 'show', '10.100.0.3']);
      expect(neigh.trim()).toBe('');
    }
    // vnet 100 still works after the attempts.
    const r = await pingRtts(h, g2, '10.100.0.1', ['-c', '2', '-i', '0.2', '-W', '2']);
    expect(r.received).toBe(2);
  });
});
