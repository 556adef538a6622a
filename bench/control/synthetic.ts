// A synthetic deployment for the compile benchmark: `hosts` hosts in LAN
// segments of 50, and farms of 100 VMs (two tiers on two vnets, a router
// between them, a firewall in front), VMs spread over the hosts by a fixed
// pseudo-random sequence so every run compiles the same input.
import type { CompileFarm, CompileInput } from '../../server/compile/index.ts';

const VMS_PER_FARM = 100;
const HOSTS_PER_SEGMENT = 50;

/** Deterministic LCG (Numerical Recipes constants): same input on every run. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0);
}

const mac = (n: number) =>
  `02:5d:${[24, 16, 8, 0].map((sh) => ((n >>> sh) & 0xff).toString(16).padStart(2, '0')).join(':')}`;

/**
 * The i-th care-of address of a synthetic deployment, 127.<second>.0.1 on:
 * only data (nothing is sent to it), but a valid IPv4 address, as every state
 * the console stores must hold.
 */
export function syntheticAddress(i: number, second = 0): string {
  const n = i + 1;
  return `127.${second + ((n >> 16) & 0xff)}.${(n >> 8) & 0xff}.${n & 0xff}`;
}

export function syntheticInput(hosts: number, vms: number): CompileInput {
  const rnd = lcg(7);
  const hostList = Array.from({ length: hosts }, (_, i) => ({
    id: `host-${i}`,
    name: `h${i}`,
    // Only names in the compiled documents: nothing is sent anywhere.
    address: syntheticAddress(i),
    port: 1798,
    segmentId: `seg-${Math.floor(i / HOSTS_PER_SEGMENT)}`,
  }));
  const segments = Array.from({ length: Math.ceil(hosts / HOSTS_PER_SEGMENT) }, (_, i) => ({
    id: `seg-${i}`,
    name: `lan${i}`,
    multicast: i % 2 === 0,
    multicastGroup: '224.10.0.1',
    relayHostId: `host-${i * HOSTS_PER_SEGMENT}`,
    proxyMode: false,
  }));
  const farms: CompileFarm[] = [];
  let macN = 1;
  const pick = () => hostList[rnd() % hosts]!.id;
  for (let f = 0; f * VMS_PER_FARM < vms; f++) {
    const front = 1000 + 2 * f;
    const back = front + 1;
    const n = Math.min(VMS_PER_FARM, vms - f * VMS_PER_FARM);
    const farm: CompileFarm = {
      id: `farm-${String(f).padStart(5, '0')}`,
      name: `farm${f}`,
      revision: 1,
      vnets: [
        { vnid: front, name: 'front', cidr: '10.1.0.0/16', mtu: 1400, security: 'none' },
        { vnid: back, name: 'back', cidr: '10.2.0.0/16', mtu: 1400, security: 'auth' },
      ],
      vms: Array.from({ length: n }, (_, i) => ({
        id: `vm-${f}-${i}`,
        name: `vm${i}`,
        hostId: pick(),
        guestKind: 'emulated' as const,
        locationVersion: 1,
        vifs: [{ id: `vif-${f}-${i}`, serial: macN, name: 'eth0', vnid: i % 2 ? back : front, mac: mac(macN++), ip: `10.${i % 2 ? 2 : 1}.${i >> 8}.${(i & 0xff) + 10}` }],
      })),
      routers: [
        {
          id: `router-${f}`,
          name: 'r1',
          hostId: pick(),
          interfaces: [
            { vnid: front, ip: '10.1.255.1', prefixLen: 16, mac: mac(macN++), rip: false },
            { vnid: back, ip: '10.2.255.1', prefixLen: 16, mac: mac(macN++), rip: false },
          ],
          staticRoutes: [],
        },
      ],
      routerLinks: [],
      firewalls: [
        {
          id: `firewall-${f}`,
          name: 'fw',
          hostId: pick(),
          defaultPolicy: 'deny',
          interfaces: [{ name: 'inside', vnid: front, ip: '10.1.255.2', prefixLen: 16, mac: mac(macN++) }],
          rules: [
            { action: 'allow', protocol: 'tcp', source: '0.0.0.0/0', destination: '10.1.0.0/16', portFrom: 443, portTo: 443, interface: null, log: false },
          ],
        },
      ],
    };
    farms.push(farm);
  }
  return { hosts: hostList, segments, farms };
}
