// The VLAN interface (seed 002): vnet 300 is bridged to 802.1Q VLAN 300 on
// host A's interface `lan0`. The other end of that link is a "physical" LAN
// with a machine on VLAN 300 and one on VLAN 301 (same subnet), behind a
// VLAN-aware switch (test/vlan-lan.ts: the kernels here may lack 802.1Q).
// Guests of the vnet on host A and on host B (reached over the underlay) talk
// to the VLAN 300 machine; frames on the link carry tag 300; the VLAN 301
// machine stays out of reach.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot, prerequisite } from './require.ts';
import { NetnsHarness, hasCommand, netnsWorks } from './netns/harness.ts';
import { agentCliPresent, stateDir } from './netns/agents.ts';
import { tapAddonAvailable } from '../agent/native/index.ts';
import { OverlayAgent, addVlanLan, pingCount, pingUntil, tapVif, type FullState } from './overlay-fixture.ts';

const ok = prerequisite(
  isRoot && netnsWorks() && tapAddonAvailable() && agentCliPresent() && hasCommand('/usr/bin/tcpdump') && hasCommand('/usr/bin/curl'),
  'the VLAN test needs root, `ip netns`, the TAP addon, bin/softudc-agent.js, tcpdump and curl (bash .ci/install-deps.sh)',
);

const VNET = 300;
const LAN_IP = '10.44.0.100'; // vnet 300 uses 10.44.0.0/24 (300 % 256)
const OTHER_VLAN_IP = '10.44.0.101';

describe.skipIf(!ok)('a vnet bridged to an 802.1Q VLAN', () => {
  const h = new NetnsHarness();
  let dir: { dir: string; remove(): Promise<void> };
  let ha: string;
  let lan: string;
  let other: string;
  /** The machine on VLAN 300. */
  let mach: string;
  let a: OverlayAgent;
  let b: OverlayAgent;
  const ga = h.name('vga');
  const gb = h.name('vgb');

  function host(name: string, address: string, peer: string, vifs: FullState['vifs'], vlan?: { interface: string; vid: number }): FullState {
    return {
      host: name,
      generation: 1,
      underlay: { address, port: 1798, multicast: null, peers: [peer] },
      vnets: [{ id: VNET, security: 'none', mtu: 1400, ...(vlan ? { vlan } : {}) }],
      vifs,
    };
  }

  beforeAll(async () => {
    dir = await stateDir();
    ha = await h.addNs('vha');
    const hb = await h.addNs('vhb');
    await h.veth({ ns: ha, ifname: 'u0', cidr: '198.18.0.1/24' }, { ns: hb, ifname: 'u0', cidr: '198.18.0.2/24' });
    // The host's LAN port and the LAN on the other side of the link: a
    // machine on VLAN 300 and one on VLAN 301, no addresses on the link itself.
    const vl = await addVlanLan(h, ha, 'lan0', 'vlan', { 300: `${LAN_IP}/24`, 301: `${OTHER_VLAN_IP}/24` });
    lan = vl.lan;
    mach = vl.machines[300]!;
    other = vl.machines[301]!;
    h.track(ga);
    h.track(gb);
    a = new OverlayAgent(h, ha, `${dir.dir}/a.json`, host('ha', '198.18.0.1', '198.18.0.2', [tapVif('vga/eth0', VNET, 1, ga)], { interface: 'lan0', vid: 300 }));
    b = new OverlayAgent(h, hb, `${dir.dir}/b.json`, host('hb', '198.18.0.2', '198.18.0.1', [tapVif('vgb/eth0', VNET, 2, gb)]));
    await Promise.all([a.start(), b.start()]);
  });

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await h.cleanup();
    await dir?.remove();
  });

  it('a guest on the same host reaches the VLAN machine, tagged 300 on the wire', async () => {
    const td = h.spawn(lan, 'tcpdump', ['--immediate-mode', '-n', '-e', '-l', '-i', 'eth0', 'vlan']);
    let seen = '';
    td.stdout?.on('data', (d: Buffer) => (seen += d.toString()));
    await new Promise((r) => setTimeout(r, 500));
    expect(await pingUntil(h, ga, LAN_IP)).toBe(true);
    const r = await pingCount(h, ga, LAN_IP, ['-c', '5', '-i', '0.1', '-W', '1']);
    await new Promise((r2) => setTimeout(r2, 200));
    await h.kill(td);
    const mode = a.logs.map((l) => /"msg":"VLAN interface up".*"mode":"(\w+)"/.exec(l)?.[1]).find(Boolean);
    console.log(`VLAN (${mode} mode): guest on host A → ${LAN_IP} (VLAN 300): ${r.received}/${r.sent}; tcpdump on the link saw ${seen.split('\n').filter((l) => /vlan 300/.test(l)).length} frames tagged 300`);
    expect(r.received).toBe(5);
    expect(seen).toMatch(/vlan 300, p 0, ethertype IPv4.*10\.44\.0\.1 > 10\.44\.0\.100: ICMP echo request/);
    // Whatever VLAN 301 carries (its machine's own chatter), nothing of the vnet's guest.
    expect(seen).not.toMatch(/vlan 301[^\n]*10\.44\.0\.1\b/);
  });

  it('a guest on another host reaches it through the underlay, and the VLAN machine reaches the guest', async () => {
    expect(await pingUntil(h, gb, LAN_IP)).toBe(true);
    const r = await pingCount(h, gb, LAN_IP, ['-c', '5', '-i', '0.1', '-W', '1']);
    const back = await pingCount(h, mach, '10.44.0.2', ['-c', '5', '-i', '0.1', '-W', '1']);
    console.log(`VLAN: guest on host B → VLAN machine ${r.received}/${r.sent}, VLAN machine → guest on host B ${back.received}/${back.sent}`);
    expect(r.received).toBe(5);
    expect(back.received).toBe(5);
    // Host B found the LAN machine's MAC at host A through VARP.
    const lanMac = JSON.parse(await h.mustExec(mach, 'ip', ['-j', 'link', 'show', 'mach0']))[0].address as string;
    expect(await b.entry(lanMac)).toMatchObject({ coa: '198.18.0.1', state: 'REACHABLE' });
    expect(await a.counter('softudc_vlan_macs_learnt_total')).toBeGreaterThanOrEqual(1);
  });

  it('keeps another VLAN on the same link out of the vnet', async () => {
    const r = await pingCount(h, ga, OTHER_VLAN_IP, ['-c', '3', '-i', '0.2', '-W', '1']);
    expect(r.received).toBe(0);
    // Had the guest's ARP request for its address reached the VLAN 301
    // machine, that kernel would have learnt the guest's address from it.
    expect((await h.mustExec(other, 'ip', ['neigh', 'show', '10.44.0.1'])).trim()).toBe('');
  });

  it('removes its kernel devices when the VLAN leaves the state', async () => {
    const links = async () => (await h.mustExec(ha, 'ip', ['-o', 'link', 'show'])).split('\n').map((l) => l.split(':')[1]?.trim().split('@')[0]);
    expect(await links()).toEqual(expect.arrayContaining([`sdvb${VNET}`, `sdvt${VNET}`]));
    await a.update((s) => ({ ...s, vnets: s.vnets.map((v) => ({ ...v, vlan: undefined })) }));
    const after = await links();
    expect(after).not.toContain('lan0.300');
    const master = JSON.parse(await h.mustExec(ha, 'ip', ['-j', 'link', 'show', 'lan0']))[0].master;
    expect(master).toBeUndefined(); // released from the bridge (trunk mode)
    expect(after).not.toContain(`sdvb${VNET}`);
    expect(after).not.toContain(`sdvt${VNET}`);
    expect(after).toContain('lan0');
    expect((await pingCount(h, ga, LAN_IP, ['-c', '2', '-i', '0.2', '-W', '1'])).received).toBe(0);
  });
});
