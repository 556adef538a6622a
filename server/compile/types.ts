// Input and output of compilation. The input is the deployed intent with ids
// resolved (hosts by id); the output is one desired state per host in the
// agent state schema (docs/agent-state.md), without its generation, which the
// deploy service assigns when a host's state actually changes.

export interface CompileHost {
  id: string;
  name: string;
  address: string;
  port: number;
  segmentId: string | null;
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
  /** Hosts where the vnet is bridged to an 802.1Q VLAN (docs/agent-state.md "VLAN interface"). */
  vlans?: { hostId: string; interface: string; vid: number }[];
}

export interface CompileVm {
  name: string;
  hostId: string | null;
  guestKind: 'emulated' | 'tap';
  locationVersion: number;
  vifs: { name: string; vnid: number; mac: string; ip: string }[];
  /** Bandwidth limit of each of its VIFs (docs/agent-state.md "Bandwidth limits"); absent: unlimited. */
  limit?: VifLimit | null;
}

export interface VifLimit {
  rateMbps: number;
  burstKb?: number;
}

/** One sealing key of a vnet as hosts receive it (docs/agent-state.md `vnets[].keys`). */
export interface VnetKeyMaterial {
  id: number; // u32 key id on the wire
  key: string; // base64 of 32 bytes
  salt: string; // base64 of 4 bytes
}

/** The keys of an auth/conf vnet: every one is accepted, `sendKeyId` seals. */
export interface VnetKeyring {
  keys: VnetKeyMaterial[];
  sendKeyId: number;
}

export interface CompileRouter {
  name: string;
  hostId: string | null;
  interfaces: { vnid: number; ip: string; prefixLen: number; mac: string; rip: boolean }[];
  staticRoutes: { destination: string; nextHop: string; metric: number }[];
}

export interface CompileRouterLink {
  a: string; // router name
  b: string;
  cidr: string;
  ipA: string;
  ipB: string;
  rip: boolean;
}

export interface CompileFirewall {
  name: string;
  hostId: string | null;
  defaultPolicy: 'allow' | 'deny';
  interfaces: { name: string; vnid: number; ip: string; prefixLen: number; mac: string }[];
  rules: {
    action: 'allow' | 'deny';
    protocol: 'any' | 'tcp' | 'udp' | 'icmp';
    source: string;
    destination: string;
    portFrom: number | null;
    portTo: number | null;
    interface: string | null;
    log: boolean;
  }[];
}

export interface CompileFarm {
  id: string;
  name: string;
  /** Unique among deployed farms; prefixes the ids of VIFs, routers and firewalls (e.g. `web`, or `acme.web`). */
  key: string;
  revision: number;
  vnets: CompileVnet[];
  vms: CompileVm[];
  routers: CompileRouter[];
  routerLinks: CompileRouterLink[];
  firewalls: CompileFirewall[];
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

// ---- output: the agent state schema (see docs/agent-state.md) ----

export interface StateVnet {
  id: number;
  name: string;
  farm: string;
  security: 'none' | 'auth' | 'conf';
  mtu: number;
  /** Care-of addresses of the other hosts carrying this vnet (head-end replication). */
  peers: string[];
  /** Secrets: auth/conf vnets only. */
  keys?: VnetKeyMaterial[];
  sendKeyId?: number;
  /** Bridge to VLAN `vid` on host interface `interface`; absent: none. */
  vlan?: { interface: string; vid: number };
}

export interface StateVif {
  id: string; // farm/vm/ifname
  vnet: number;
  mac: string;
  ip: string; // address/prefix
  version: number; // location version
  guest: { kind: 'emulated' | 'tap' };
  /** Default gateway: a router's (else a firewall's) address on this vnet, when there is one. */
  gateway?: string;
  limit?: VifLimit;
}

export interface StateRouter {
  id: string; // farm/router
  interfaces: { vnet: number; mac: string; ip: string; rip: boolean }[];
  staticRoutes: { destination: string; nextHop: string; metric: number }[];
  links: { peer: string; local: string; remote: string; rip: boolean; vnet: number | null; peerHost: string | null }[];
}

export interface StateFirewall {
  id: string; // farm/firewall
  defaultPolicy: 'allow' | 'deny';
  interfaces: { name: string; vnet: number; mac: string; ip: string }[];
  rules: CompileFirewall['rules'];
}

export interface HostState {
  host: string;
  underlay: { address: string; port: number; multicast: string | null; peers: string[] };
  vnets: StateVnet[];
  vifs: StateVif[];
  routers: StateRouter[];
  firewalls: StateFirewall[];
  relay: { enabled: boolean; peers: string[]; proxy: boolean } | null;
  /** The deployment's VARP key (a secret). */
  varp?: { key: string };
}
