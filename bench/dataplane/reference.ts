// Reference overlays between the same two host namespaces, for comparison
// with the agents: the kernel's own VXLAN (no userspace on the path) and
// tinc in switch mode (a userspace Ethernet overlay over UDP, like ours).
import { mkdtemp, readFile, rm, writeFile, appendFile, mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { must, type NetnsHarness } from '../../test/netns/harness.ts';

export const IP = ['/usr/sbin/ip', '/sbin/ip'].find((p) => existsSync(p)) ?? 'ip';
export const TINCD = ['/usr/sbin/tincd', '/usr/bin/tincd'].find((p) => existsSync(p));

export interface Underlay {
  hA: string;
  hB: string;
  ipA: string;
  ipB: string;
}

/** Two host namespaces joined by a veth: 198.18.0.1/24 ↔ 198.18.0.2/24. */
export async function makeUnderlay(h: NetnsHarness): Promise<Underlay> {
  const hA = await h.addNs('hA');
  const hB = await h.addNs('hB');
  await h.veth({ ns: hA, ifname: 'u0', cidr: '198.18.0.1/24' }, { ns: hB, ifname: 'u0', cidr: '198.18.0.2/24' });
  return { hA, hB, ipA: '198.18.0.1', ipB: '198.18.0.2' };
}

/**
 * A second veth between the same two host namespaces, made like the first
 * (198.18.1.1/24 ↔ 198.18.1.2/24, MTU 1500): kernel VXLAN measured while the
 * agents run goes over it, so it does not pass the agents' tc program on u0.
 */
export async function secondUnderlay(h: NetnsHarness, u: Underlay): Promise<Underlay & { dev: string }> {
  await h.veth({ ns: u.hA, ifname: 'u1', cidr: '198.18.1.1/24' }, { ns: u.hB, ifname: 'u1', cidr: '198.18.1.2/24' });
  return { hA: u.hA, hB: u.hB, ipA: '198.18.1.1', ipB: '198.18.1.2', dev: 'u1' };
}

export interface GuestPair {
  a: { ns: string; ip: string };
  b: { ns: string; ip: string };
}

/** Moves `ifname` from a host namespace into a guest one and addresses it. */
async function plugIntoGuest(hostNs: string, ifname: string, guestNs: string, cidr: string, mtu: number): Promise<void> {
  await must(IP, ['-n', hostNs, 'link', 'set', 'dev', ifname, 'netns', guestNs]);
  await must(IP, ['-n', guestNs, 'link', 'set', 'dev', ifname, 'mtu', String(mtu)]);
  await must(IP, ['-n', guestNs, 'addr', 'add', cidr, 'dev', ifname]);
  await must(IP, ['-n', guestNs, 'link', 'set', 'dev', ifname, 'up']);
}

/**
 * Kernel VXLAN: a vxlan device per host (its UDP socket stays in the host
 * namespace it was created in) moved into the guest namespace.
 */
export async function kernelVxlan(h: NetnsHarness, u: Underlay & { dev?: string }, prefix: string, mtu = 1400): Promise<GuestPair> {
  const gA = await h.addNs(`${prefix}A`);
  const gB = await h.addNs(`${prefix}B`);
  const vni = '4242';
  for (const [host, local, remote, guest, ip] of [
    [u.hA, u.ipA, u.ipB, gA, '10.101.0.1/24'],
    [u.hB, u.ipB, u.ipA, gB, '10.101.0.2/24'],
  ] as const) {
    await must(IP, ['-n', host, 'link', 'add', 'vx0', 'type', 'vxlan', 'id', vni, 'local', local, 'remote', remote, 'dstport', '4789', 'dev', u.dev ?? 'u0']);
    await plugIntoGuest(host, 'vx0', guest, ip, mtu);
  }
  return { a: { ns: gA, ip: '10.101.0.1' }, b: { ns: gB, ip: '10.101.0.2' } };
}

export interface TincOverlay extends GuestPair {
  stop(): Promise<void>;
}

/** tinc 1.0 in switch mode, no cipher or digest (the agents' vnets here are security `none` too). */
export async function tincSwitch(h: NetnsHarness, u: Underlay, prefix: string, mtu = 1400): Promise<TincOverlay> {
  if (!TINCD) throw new Error('tincd is not installed');
  const gA = await h.addNs(`${prefix}A`);
  const gB = await h.addNs(`${prefix}B`);
  const dir = await mkdtemp(join(tmpdir(), 'softudc-tinc-'));
  const nodes = [
    { name: 'a', host: u.hA, ip: u.ipA, guest: gA, cidr: '10.102.0.1/24', connectTo: 'b' },
    { name: 'b', host: u.hB, ip: u.ipB, guest: gB, cidr: '10.102.0.2/24', connectTo: undefined },
  ];
  for (const n of nodes) {
    const d = join(dir, n.name);
    await mkdir(join(d, 'hosts'), { recursive: true });
    const conf = [`Name = ${n.name}`, 'Mode = switch', 'DeviceType = tap', `Interface = tinc${n.name}`, 'AddressFamily = ipv4', `BindToAddress = ${n.ip}`];
    if (n.connectTo) conf.push(`ConnectTo = ${n.connectTo}`);
    await writeFile(join(d, 'tinc.conf'), conf.join('\n') + '\n');
    await writeFile(join(d, 'hosts', n.name), `Address = ${n.ip}\nPort = 655\nCipher = none\nDigest = none\n`);
    await must(TINCD, ['-c', d, '-K2048'], { timeoutMs: 60_000 });
  }
  // Each node needs the other's host file (address and public key).
  for (const n of nodes) {
    for (const o of nodes) if (o !== n) await writeFile(join(dir, n.name, 'hosts', o.name), await readFile(join(dir, o.name, 'hosts', o.name)));
    await appendFile(join(dir, n.name, 'tinc.conf'), '');
  }
  const daemons = nodes.map((n) => h.spawn(n.host, TINCD, ['-c', join(dir, n.name), '-D', '-d0', '--pidfile', join(dir, n.name, 'pid')]));
  for (const n of nodes) {
    const ifname = `tinc${n.name}`;
    for (let i = 0; ; i++) {
      const r = await h.exec(n.host, IP, ['link', 'show', 'dev', ifname]);
      if (r.code === 0) break;
      if (i > 100) throw new Error(`tincd did not create ${ifname}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await plugIntoGuest(n.host, ifname, n.guest, n.cidr, mtu);
  }
  return {
    a: { ns: gA, ip: '10.102.0.1' },
    b: { ns: gB, ip: '10.102.0.2' },
    async stop() {
      for (const d of daemons) await h.kill(d);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
