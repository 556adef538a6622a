// A vnet's `dhcp` in the host state (docs/agent-state.md "DHCP and DNS"):
// the vnet's settings plus what only the whole farm knows: the gateway when
// none is set (a router's, else a firewall's address on the vnet), the
// resolver address (the highest host address of the vnet nobody uses; none
// on a vnet bridged to a VLAN), the classless static routes as set, and
// the names the resolver answers (the farm's VMs with a VIF on the vnet).
import type { CompileFarm, StateVnet } from './types.ts';
import { isDnsName } from '../../contract/dhcp.ts';

function ipNum(text: string): number {
  return text.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

function ipText(n: number): string {
  return [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join('.');
}

/** The highest host address of `cidr` not in `used`; undefined when every one is taken. */
export function resolverAddress(cidr: string, used: ReadonlySet<string>): string | undefined {
  const [net = '0.0.0.0', len = '32'] = cidr.split('/');
  const prefix = Number(len);
  if (prefix > 30) return undefined;
  const size = 2 ** (32 - prefix);
  const network = ipNum(net) - (ipNum(net) % size);
  for (let ip = network + size - 2; ip > network; ip--) if (!used.has(ipText(ip))) return ipText(ip);
  return undefined;
}

/** A VM's name as a DNS label (host name option, resolver name), or undefined when it is not one. */
export function hostNameOf(vmName: string): string | undefined {
  const n = vmName.toLowerCase();
  return isDnsName(n) && !n.includes('.') ? n : undefined;
}

/** The `dhcp` of every vnet of the farm that has settings, by vnet id. */
export function farmDhcp(farm: CompileFarm, gateways: ReadonlyMap<number, string>): Map<number, NonNullable<StateVnet['dhcp']>> {
  const out = new Map<number, NonNullable<StateVnet['dhcp']>>();
  const used = new Map<number, Set<string>>();
  const names = new Map<number, Map<string, string>>();
  const use = (vnid: number, ip: string) => {
    let s = used.get(vnid);
    if (!s) used.set(vnid, (s = new Set()));
    s.add(ip);
  };
  for (const vm of farm.vms) {
    const name = hostNameOf(vm.name);
    for (const vif of vm.vifs) {
      use(vif.vnid, vif.ip);
      if (name === undefined) continue;
      let m = names.get(vif.vnid);
      if (!m) names.set(vif.vnid, (m = new Map()));
      if (!m.has(name)) m.set(name, vif.ip);
    }
  }
  for (const r of farm.routers) for (const itf of r.interfaces) use(itf.vnid, itf.ip);
  for (const fw of farm.firewalls) for (const itf of fw.interfaces) use(itf.vnid, itf.ip);
  const farmLabel = hostNameOf(farm.name);
  for (const v of farm.vnets) {
    const d = v.dhcp;
    if (!d) continue;
    const gateway = d.gateway ?? gateways.get(v.vnid);
    const taken = new Set([...(used.get(v.vnid) ?? []), ...(gateway ? [gateway] : []), ...d.dnsServers]);
    // A vnet bridged to a LAN shares its addresses with machines the console does not know: no address is claimed there.
    const resolver = v.vlans?.length ? undefined : resolverAddress(v.cidr, taken);
    const domain = d.domain ? (farmLabel ? `${farmLabel}.${d.domain}` : d.domain) : undefined;
    out.set(v.vnid, {
      enabled: d.enabled,
      ...(gateway ? { gateway } : {}),
      ...(resolver ? { resolver } : {}),
      ...(d.dnsServers.length ? { dnsServers: [...d.dnsServers] } : {}),
      ...(domain ? { domain } : {}),
      leaseTime: d.leaseTime,
      ...(d.routes?.length ? { routes: d.routes.map((r) => ({ ...r })) } : {}),
      names: [...(names.get(v.vnid) ?? new Map<string, string>())].map(([name, ip]) => ({ name, ip })).sort((a, b) => (a.name < b.name ? -1 : 1)),
    });
  }
  return out;
}
