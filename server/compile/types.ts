// Input and output of compilation. The input is the deployed intent with ids
// resolved (hosts by id); the output is one desired state per host, typed by
// the contract (contract/hostState.ts) so compile cannot write a field it does
// not carry, without its generation, which the deploy service assigns when a
// host's state actually changes.
import type * as Contract from '../../contract/hostState.ts';
import type { VifLimit, VnetKeyMaterial } from '../../contract/hostState.ts';

export interface CompileHost {
  id: string;
  name: string;
  address: string;
  port: number;
  segmentId: string | null;
  /** Upstream resolvers for the vnet resolvers on this host (absent or empty: unknown names are REFUSED). */
  dnsUpstream?: string[];
  /** The external networks bound on this host: where each is (interface, VLAN) and its addressing. */
  externalNetworks?: CompileExternalBinding[];
}

export interface CompileExternalBinding {
  /** The external network's database id. */
  id: string;
  interface: string;
  vid: number | null;
  prefixLen: number;
  gateway: string;
}

/** A router's or firewall's leg on an external network, its NAT resolved to addresses. */
export interface CompileLeg {
  networkId: string;
  network: string;
  /** The leg's vnet id on its host (stored with the leg, from the router links' range). */
  vnid: number;
  ip: string;
  mac: string;
  snat: string[];
  floatingIps: { external: string; internal: string }[];
  portForwards: { protocol: 'tcp' | 'udp'; external: string; externalPort: number; internal: string; internalPort: number }[];
}

export interface CompileSegment {
  id: string;
  name: string;
  multicast: boolean;
  multicastGroup: string;
  relayHostId: string | null;
  proxyMode: boolean;
}

export interface CompileVnet {
  vnid: number;
  name: string;
  cidr: string;
  mtu: number;
  security: 'none' | 'auth' | 'conf';
  /** DHCP and DNS settings (server/farms/vnetDhcp.ts); absent: no DHCP, no resolver. */
  dhcp?: { enabled: boolean; gateway: string | null; dnsServers: string[]; domain: string | null; leaseTime: number; routes?: { destination: string; gateway: string }[] };
  /** Hosts where the vnet is bridged to an 802.1Q VLAN (docs/agent-state.md "VLAN interface"). */
  vlans?: { hostId: string; interface: string; vid: number }[];
}

/** The database id of an item: what names it on hosts, whatever its users call it. */
type Id = string;

export interface CompileVif {
  id: Id;
  /** The VIF's number (database sequence): its TAP device's name. Null for snapshots taken before VIFs had one. */
  serial: number | null;
  name: string;
  vnid: number;
  mac: string;
  ip: string;
  /** Ids of the farm's security groups the VIF belongs to; absent or empty: not filtered. */
  securityGroups?: string[];
}

export interface CompileVm {
  id: Id;
  name: string;
  hostId: string | null;
  guestKind: 'emulated' | 'tap';
  locationVersion: number;
  /**
   * A live migration under way: the destination host gets the VM's VIFs
   * `incoming` with this (higher) location version, while `hostId` keeps them
   * marked `outgoing`.
   */
  incoming?: { hostId: string; version: number } | null;
  vifs: CompileVif[];
  /** Bandwidth limit of each of its VIFs (docs/agent-state.md "Bandwidth limits"); absent: unlimited. */
  limit?: VifLimit | null;
}

/** The keys of an auth/conf vnet: every one is accepted, `sendKeyId` seals. */
export interface VnetKeyring {
  keys: VnetKeyMaterial[];
  sendKeyId: number;
}

export interface CompileRouter {
  id: Id;
  name: string;
  hostId: string | null;
  interfaces: { vnid: number; ip: string; prefixLen: number; mac: string; rip: boolean }[];
  staticRoutes: { destination: string; nextHop: string; metric: number }[];
  external?: CompileLeg;
}

export interface CompileRouterLink {
  a: string; // router name
  b: string;
  cidr: string;
  ipA: string;
  ipB: string;
  rip: boolean;
  /** The link's own vnet id across hosts (stored with the link); null for a snapshot older than those ids. */
  vnid: number | null;
}

export interface CompileFirewall {
  id: Id;
  name: string;
  hostId: string | null;
  defaultPolicy: 'allow' | 'deny';
  interfaces: { name: string; vnid: number; ip: string; prefixLen: number; mac: string }[];
  rules: CompileFirewallRule[];
  external?: CompileLeg;
}

/** A firewall rule as hosts run it (first match wins); `interface` is one of the firewall's interface names. */
export interface CompileFirewallRule {
  action: 'allow' | 'deny';
  protocol: 'any' | 'tcp' | 'udp' | 'icmp';
  source: string;
  destination: string;
  portFrom: number | null;
  portTo: number | null;
  interface: string | null;
  log: boolean;
}

/** A security group as compile takes it: ids are database ids; a rule's remote is a CIDR or a group id of the farm. */
export interface CompileSecurityGroup {
  id: Id;
  name: string;
  rules: {
    id: Id;
    direction: 'ingress' | 'egress';
    protocol: 'any' | 'tcp' | 'udp' | 'icmp';
    portFrom: number | null;
    portTo: number | null;
    icmpType: number | null;
    icmpCode: number | null;
    remoteCidr: string | null;
    remoteGroup: Id | null;
  }[];
}

export interface CompileFarm {
  /** Written as `farm` beside everything of the farm on hosts; its name only ever goes into display names. */
  id: Id;
  name: string;
  revision: number;
  vnets: CompileVnet[];
  vms: CompileVm[];
  routers: CompileRouter[];
  routerLinks: CompileRouterLink[];
  firewalls: CompileFirewall[];
  /** Absent: the farm has none (VIFs unfiltered). */
  securityGroups?: CompileSecurityGroup[];
  /**
   * `default`: every VIF of the farm is filtered, one in no group gets
   * `securityGroups: []` (everything dropped). `none` or absent: a VIF in no
   * group is not filtered.
   */
  securityGroupMode?: 'none' | 'default';
}

export interface CompileInput {
  hosts: CompileHost[];
  segments: CompileSegment[];
  farms: CompileFarm[];
  port?: number;
  /** Keyrings of auth/conf vnets by vnet id; given only to hosts that carry the vnet (and proxy relays it crosses). */
  vnetKeys?: Map<number, VnetKeyring>;
  /** The deployment's VARP key (base64), written to every host that runs something. */
  varpKey?: string;
}

// ---- output: the host desired state of the contract (contract/hostState.ts) ----

export type { VifLimit, VnetKeyMaterial } from '../../contract/hostState.ts';

/** A contract type with fields it leaves optional that the console always writes. */
type Always<T, K extends keyof T> = T & { [P in K]-?: Exclude<T[P], undefined> };

export type StateVnet = Always<Contract.StateVnet, 'name' | 'farm' | 'mtu' | 'peers'>;
export type StateVif = Always<Contract.StateVif, 'name' | 'farm'>;
export type StateRouter = Always<Contract.StateRouter, 'name' | 'farm'>;
export type StateFirewall = Always<Contract.StateFirewall, 'name' | 'farm'>;
export type StateSecurityGroup = NonNullable<Contract.HostState['securityGroups']>[number];
export type StateAddressSet = NonNullable<Contract.HostState['addressSets']>[number];

/** One farm's items on one host; its vnets without peers and keys (the host-level assembly adds them). */
export interface HostPart {
  hostId: string;
  vnets: StateVnet[];
  vifs: StateVif[];
  routers: StateRouter[];
  firewalls: StateFirewall[];
  /** The groups this host's VIFs of the farm belong to; absent when none. */
  securityGroups?: StateSecurityGroup[];
  /** The address sets those groups' rules name; absent when none. */
  addressSets?: StateAddressSet[];
}

/** One farm's part of every host's state, hosts in the order the farm first reached them. */
export interface FarmPart {
  farmId: string;
  hosts: HostPart[];
  /** The farm's auth/conf vnet ids, carried or not (each has keys while deployed), ascending. */
  sealedVnids: number[];
}

/** What compile writes for one host: the contract's state, every section present. */
export type HostState = Omit<Contract.HostState, 'vnets' | 'vifs' | 'routers' | 'firewalls' | 'relay'> & {
  vnets: StateVnet[];
  vifs: StateVif[];
  routers: StateRouter[];
  firewalls: StateFirewall[];
  relay: Exclude<Contract.HostState['relay'], undefined>;
};
