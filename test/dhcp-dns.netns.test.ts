// DHCP and DNS for guests, with real clients: namespace guests behind TAPs on
// two agent processes get their configuration from busybox udhcpc and ISC
// dhclient, resolve the farm's VMs with busybox nslookup, and learn nothing
// about another farm's. A guest sends 50,000 random and mutated DHCP and DNS
// packets: every one is counted, the agent stays up; a rogue DHCP OFFER from
// a guest never reaches another guest.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isRoot, prerequisite } from './require.ts';
import { NetnsHarness, hasCommand, netnsWorks } from './netns/harness.ts';
import { agentCliPresent, repoRoot, stateDir } from './netns/agents.ts';
import { tapAddonAvailable } from '../agent/native/index.ts';
import { OverlayAgent, pingUntil, tapVif, type FullState } from './overlay-fixture.ts';
import { BUSYBOX, nslookup, runFuzz, sendRogueOffer, udhcpc } from './dhcp-fixture.ts';

const DHCLIENT = '/sbin/dhclient';
const ok = prerequisite(
  isRoot && netnsWorks() && tapAddonAvailable() && agentCliPresent() && hasCommand(BUSYBOX) && hasCommand(DHCLIENT) && hasCommand('/usr/bin/tcpdump') && hasCommand('/usr/bin/curl'),
  'the DHCP/DNS test needs root, `ip netns`, the TAP addon, bin/softudc-agent.js, busybox (busybox-static), dhclient (isc-dhcp-client), tcpdump and curl (bash .ci/install-deps.sh)',
);

const A = '198.18.0.1';
const B = '198.18.0.2';
const SHOP = 100;
const OTHER = 101;
const shopDhcp = {
  gateway: '10.100.0.1', resolver: '10.100.0.254', dnsServers: ['10.100.0.253'], domain: 'shop.example.internal', leaseTime: 900,
  routes: [{ destination: '10.120.0.0/16', gateway: '10.100.0.2' }],
  names: [{ name: 'web-1', ip: '10.100.0.11' }, { name: 'web-2', ip: '10.100.0.12' }, { name: 'db-1', ip: '10.100.0.13' }],
};
const otherDhcp = { gateway: '10.101.0.1', resolver: '10.101.0.254', domain: 'other.example.internal', names: [{ name: 'app-1', ip: '10.101.0.11' }] };

describe.skipIf(!ok)('DHCP and DNS for guests, with real clients', () => {
  const h = new NetnsHarness();
  let dir: { dir: string; remove(): Promise<void> };
  let a: OverlayAgent;
  let b: OverlayAgent;
  const g = { web1: h.name('dweb1'), db1: h.name('ddb1'), web2: h.name('dweb2'), app1: h.name('dapp1') };
  const vWeb1 = tapVif('web-1/eth0', SHOP, 11, g.web1, { hostName: 'web-1' });
  const vDb1 = tapVif('db-1/eth0', SHOP, 13, g.db1, { hostName: 'db-1' });
  const vWeb2 = tapVif('web-2/eth0', SHOP, 12, g.web2, { hostName: 'web-2' });
  const vApp1 = tapVif('app-1/eth0', OTHER, 11, g.app1, { hostName: 'app-1' });

  function host(name: string, address: string, peer: string, vifs: FullState['vifs']): FullState {
    return {
      host: name, generation: 1, underlay: { address, port: 1798, multicast: null, peers: [peer] },
      vnets: [{ id: SHOP, security: 'none', mtu: 1380, dhcp: shopDhcp }, { id: OTHER, security: 'none', mtu: 1400, dhcp: otherDhcp }],
      vifs,
    };
  }

  beforeAll(async () => {
    dir = await stateDir();
    const ha = await h.addNs('dha');
    const hb = await h.addNs('dhb');
    await h.veth({ ns: ha, ifname: 'u0', cidr: `${A}/24` }, { ns: hb, ifname: 'u0', cidr: `${B}/24` });
    for (const ns of Object.values(g)) h.track(ns);
    a = new OverlayAgent(h, ha, `${dir.dir}/a.json`, host('ha', A, B, [vWeb1, vDb1]));
    b = new OverlayAgent(h, hb, `${dir.dir}/b.json`, host('hb', B, A, [vWeb2, vApp1]));
    await Promise.all([a.start(), b.start()]);
    expect(await pingUntil(h, g.web1, '10.100.0.12')).toBe(true);
  });

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await h.cleanup();
    await dir?.remove();
  });

  it('busybox udhcpc gets exactly the address, prefix, gateway, MTU, DNS servers, domain and host name of the state', async () => {
    const env = await udhcpc(h, g.web1, join(dir.dir, 'udhcpc'));
    console.log('udhcpc got', JSON.stringify({ ip: env.ip, mask: env.mask, router: env.router, mtu: env.mtu, dns: env.dns, domain: env.domain, hostname: env.hostname, lease: env.lease, staticroutes: env.staticroutes }));
    expect(env).toMatchObject({ ip: '10.100.0.11', mask: '24', subnet: '255.255.255.0', router: '10.100.0.1', mtu: '1380', domain: 'shop.example.internal', hostname: 'web-1', lease: '900', serverid: '10.100.0.254' });
    expect(env.dns?.trim().split(/\s+/)).toEqual(['10.100.0.254', '10.100.0.253']);
    expect(env.staticroutes?.trim()).toBe('10.120.0.0/16 10.100.0.2 0.0.0.0/0 10.100.0.1');
    const link = await h.mustExec(g.web1, 'ip', ['-o', 'addr', 'show', 'dev', 'eth0']);
    expect(link).toContain('10.100.0.11/24');
    expect(await h.mustExec(g.web1, 'cat', ['/sys/class/net/eth0/mtu'])).toBe('1380\n');
    expect(await a.counter('softudc_dhcp_replies_total{type="ack"}')).toBeGreaterThanOrEqual(1);
    // The configured guest reaches the other host's guest over the overlay.
    expect(await pingUntil(h, g.web1, '10.100.0.12')).toBe(true);
  });

  it('ISC dhclient gets the same configuration, and its release is counted', async () => {
    const out = join(dir.dir, 'dhclient.env');
    const script = join(dir.dir, 'dhclient.sh');
    const conf = join(dir.dir, 'dhclient.conf');
    const files = ['-cf', conf, '-sf', script, '-lf', join(dir.dir, 'dhclient.leases'), '-pf', join(dir.dir, 'dhclient.pid')];
    await writeFile(conf, 'request subnet-mask, routers, domain-name-servers, domain-name, host-name, interface-mtu;\ntimeout 20;\n');
    await writeFile(script, `#!/bin/sh\ncase "$reason" in BOUND|RENEW|REBOOT)\n  env | sort > ${out}\n  ip addr add "$new_ip_address/$new_subnet_mask" dev "$interface"\n;; esac\nexit 0\n`);
    await chmod(script, 0o755);
    await h.mustExec(g.db1, 'ip', ['addr', 'flush', 'dev', 'eth0']);
    // dhclient goes to the background once bound: its output goes to a file so that nothing waits on the daemon's pipes.
    const log = join(dir.dir, 'dhclient.log');
    const sh = (args: string[]) => `exec ${DHCLIENT} ${args.join(' ')} >>${log} 2>&1 </dev/null`;
    await h.mustExec(g.db1, '/bin/sh', ['-c', sh(['-1', '-v', ...files, 'eth0'])], { timeoutMs: 40_000 });
    const env = Object.fromEntries((await readFile(out, 'utf8')).split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    console.log('dhclient got', JSON.stringify(Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('new_')))));
    expect(env).toMatchObject({
      new_ip_address: '10.100.0.13', new_subnet_mask: '255.255.255.0', new_routers: '10.100.0.1', new_interface_mtu: '1380',
      new_domain_name: 'shop.example.internal', new_host_name: 'db-1', new_dhcp_server_identifier: '10.100.0.254',
    });
    expect(env.new_domain_name_servers?.split(/\s+/)).toEqual(['10.100.0.254', '10.100.0.253']);
    const released = await a.counter('softudc_dhcp_released_total');
    await h.mustExec(g.db1, '/bin/sh', ['-c', sh(['-r', ...files, 'eth0'])], { timeoutMs: 20_000 }); // releases and ends the daemon
    await expect.poll(() => a.counter('softudc_dhcp_released_total'), { timeout: 10_000 }).toBe(released + 1);
  });

  it('nslookup in a guest resolves another VM of the farm, by name, FQDN and address', async () => {
    const fwd = await nslookup(h, g.web1, 'web-2', '10.100.0.254');
    console.log('nslookup web-2:', fwd.replace(/\n+/g, ' | '));
    expect(fwd).toMatch(/Address:?\s+10\.100\.0\.12/);
    const fqdn = await nslookup(h, g.web2, 'db-1.shop.example.internal', '10.100.0.254');
    expect(fqdn).toMatch(/Address:?\s+10\.100\.0\.13/);
    const ptr = await nslookup(h, g.web1, '10.100.0.12', '10.100.0.254');
    expect(ptr).toContain('web-2.shop.example.internal');
    expect(await a.counter('softudc_dns_answers_total{rcode="noerror"}')).toBeGreaterThan(0);
  });

  it('a guest of another farm gets no answer about the farm\'s VMs', async () => {
    const other = await nslookup(h, g.app1, 'web-2', '10.101.0.254');
    console.log('other farm, nslookup web-2:', other.replace(/\n+/g, ' | '));
    expect(other).not.toMatch(/10\.100\.0\.12/);
    expect(other).toMatch(/NXDOMAIN|can't find/i);
    const own = await nslookup(h, g.app1, 'app-1', '10.101.0.254');
    expect(own).toMatch(/Address:?\s+10\.101\.0\.11/);
    expect(await b.counter('softudc_dns_answers_total{rcode="nxdomain"}')).toBeGreaterThan(0);
  });

  it('a rogue DHCP OFFER from a guest, untagged or 802.1Q-tagged, never reaches another guest', async () => {
    const before = await b.counter('softudc_dhcp_dropped_total{reason="rogue_server"}');
    const seen = await sendRogueOffer(h, { from: g.web2, watcher: g.web1, sentinelFrom: '10.100.0.12' });
    expect(seen.sentinel).toBe(true);
    expect(seen.fromPort67).toBe(0);
    expect(await b.counter('softudc_dhcp_dropped_total{reason="rogue_server"}')).toBe(before + 3);
    // The same OFFERs behind an 802.1Q tag are dropped as rogue too.
    const tagged = await sendRogueOffer(h, { from: g.web2, watcher: g.web1, sentinelFrom: '10.100.0.12', vlan: 105 });
    expect(tagged.sentinel).toBe(true);
    expect(tagged.fromPort67).toBe(0);
    expect(await b.counter('softudc_dhcp_dropped_total{reason="rogue_server"}')).toBe(before + 6);
  });

  it('50,000 random and mutated DHCP and DNS packets from a guest: each counted, the agent keeps answering', async () => {
    const total = await runFuzz(h, a, { ns: g.web1, script: join(repoRoot, 'test', 'dhcp-fuzz-guest.ts'), target: '10.100.0.254', mac: vWeb1.mac, packets: 50_000 });
    console.log(`fuzz: ${total.dhcp} DHCP and ${total.dns} DNS packets sent, ${total.counted} counted by the agent`);
    expect(total.dhcp + total.dns).toBe(50_000);
    expect(total.counted).toBe(50_000);
    a.checkAlive();
    const fwd = await nslookup(h, g.web1, 'web-2', '10.100.0.254');
    expect(fwd).toMatch(/10\.100\.0\.12/);
  });
});
