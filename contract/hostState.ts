// The host desired state: what one host must run. The console compiles one
// per host (server/compile) and streams it to the host's agent
// (`agent.desired`); a standalone agent reads the same document from a file
// (`--state FILE`). docs/agent-state.md is generated from these schemas
// (`npm run docs:contract`).
//
// Every object is open (contract/fields.ts `open`): fields it does not list
// pass through unchanged, so an older agent keeps what a newer console adds
// and nothing between the database and the agent can drop a field. Every
// error names its field path (`vifs[0].mac`).
import { z } from 'zod';
import { DEFAULT_GROUP, DEFAULT_PORT } from '../agent/wire/constants.ts';
import { parseCidr, parseMac } from '../agent/wire/addr.ts';
import {
  HOST_NAME_MAX_CHARS, IFNAME_MAX_CHARS, LIMIT_MAX_BURST_KB, LIMIT_MAX_MBPS, NETNS_MAX_CHARS, SEAL_KEY_BYTES, SEAL_SALT_BYTES,
  SG_MAX_ADDRESS_SETS, SG_MAX_GROUPS_PER_HOST, SG_MAX_PER_VIF, SG_MAX_REMOTE_ENTRIES, SG_MAX_RULES_PER_HOST, VARP_KEY_MIN_BYTES, VID_MAX, VID_MIN,
} from './limits.ts';
import {
  base64Bytes, base64Of, cidr, displayFields, doc, IFNAME_DOC_TYPE, ifname, ipv4, isBase64, isCidr, isMac, itemId, mac, multicastGroup, mtu,
  NETNS_DOC_TYPE, open, u32, vnetId, vnetRef, type Known,
} from './fields.ts';
import { routerSchema } from './router.ts';
import { externalUplinkSchema } from './nat.ts';
import { addressSetSchema, securityGroupSchema } from './securityGroups.ts';
import { firewallSchema } from './firewall.ts';
import { dnsName, hostDnsSchema, vnetDhcpSchema } from './dhcp.ts';

export const SECURITY_LEVELS = ['none', 'auth', 'conf'] as const;

/** One key epoch of a sealed vnet (wire.md "SEALED frames"). A secret. */
export const sealKeySchema = open({
  id: doc(u32, 'the key id on the wire'),
  key: doc(base64Of(SEAL_KEY_BYTES), 'AES-256 key'),
  salt: doc(base64Of(SEAL_SALT_BYTES), 'the nonce prefix'),
});

export const vlanSchema = open({
  interface: doc(ifname, 'the host interface the VLAN is on'),
  vid: doc(z.number().int().min(VID_MIN).max(VID_MAX), { description: 'IEEE 802.1Q VLAN id', docType: `${VID_MIN}..${VID_MAX}` }),
});

export const vifLimitSchema = open({
  rateMbps: doc(z.number().positive().max(LIMIT_MAX_MBPS), {
    description: 'sustained rate of what the guest sends, in Mbit/s of IP bytes (frames without their Ethernet header and VLAN tag)',
    docType: 'number > 0',
  }),
  burstKb: doc(z.number().positive().max(LIMIT_MAX_BURST_KB).optional(), {
    description: 'token bucket depth in KiB; never less than 4 ms at the rate',
    docType: 'number > 0',
    docDefault: '10 ms at the rate, at least 32 KiB',
  }),
});

export const guestSchema = z.discriminatedUnion('kind', [
  open({ kind: doc(z.literal('emulated'), 'what sits behind the VIF: a userspace host stack in the agent, or a TAP device (see below)') }),
  open({
    kind: z.literal('tap'),
    // Names are checked when the guest starts, like everything about a guest: a bad one is that VIF's error, not the state's.
    ifname: doc(z.string().min(1).max(IFNAME_MAX_CHARS).optional(), {
      description: 'the TAP device name',
      docType: IFNAME_DOC_TYPE,
      docDefault: 'derived from the VIF id',
    }),
    netns: doc(z.string().min(1).max(NETNS_MAX_CHARS).optional(), {
      description: 'a network namespace the agent creates and moves the TAP into (a namespace guest)',
      docType: NETNS_DOC_TYPE,
    }),
  }),
]);

export const vifSchema = open({
  id: doc(itemId, {
    description:
      "unique on the host; the console writes the VIF's database id (URL-encode an id with `/` in the admin API: `web-1%2Feth0`)",
  }),
  ...displayFields,
  vnet: vnetRef,
  mac: doc(mac, 'unicast, nonzero; unique per vnet. Port security drops guest frames with another source MAC'),
  ip: doc(cidr, "the VIF's address and prefix; unique per vnet. Port security drops guest IPv4 packets and ARP with another source address"),
  version: doc(u32, 'the location version (wire.md "VARP"). A higher version on a new host is a migration: the new host announces it and peers move their cache entries'),
  guest: doc(guestSchema, { description: 'what sits behind the VIF, see below', docType: 'object' }),
  incoming: doc(z.boolean().optional(), {
    description:
      'a VM arriving by live migration: the agent attaches the VIF ahead of time (TAP, packet socket, DHCP) but does not claim it (no ANNOUNCE, frames for its MAC keep going to its old host, the guest\'s frames are not forwarded) until the first frame with the VIF\'s own source MAC arrives on its TAP (QEMU\'s RARP announcement as the VM resumes); then it announces `version` and forwards as usual. Only for TAP guests (an emulated guest is active at once), and only as the VIF is added (one already active here stays so); see docs/operations.md "Live migration of a VM"',
    docDefault: 'false: active at once',
  }),
  outgoing: doc(z.boolean().optional(), {
    description:
      'a live migration of this VIF\'s VM away from this host is in progress (the destination lists it `incoming`). Only an outgoing VIF is let go (inactive here, frames for its MAC follow VARP to the new host) on a GRATUITOUS ANNOUNCE of a higher `version` from another host; any other VIF attached here ignores such an ANNOUNCE. With a VARP key the move is verified first: the agent asks the announced host with a unicast REQUEST and a fresh nonce and lets go only on the signed answer carrying that nonce and the higher version; without a key the GRATUITOUS ANNOUNCE suffices. See docs/operations.md "Live migration of a VM"',
    docDefault: 'false: stays here whatever another host announces',
  }),
  gateway: doc(ipv4.optional(), 'next hop for destinations outside `ip`\'s prefix (emulated guests)'),
  mtu: doc(mtu.optional(), { description: 'overrides the vnet MTU for this VIF', docDefault: "the vnet's" }),
  limit: doc(vifLimitSchema.optional(), { description: 'bandwidth limit on what the guest sends, see "Bandwidth limits" below', docType: '`{rateMbps, burstKb?}`' }),
  hostName: doc(dnsName.optional(), { description: 'the host name option (12) DHCP gives the guest (the VM\'s name)', docDefault: 'none sent' }),
  securityGroups: doc(z.array(itemId).max(SG_MAX_PER_VIF).optional(), {
    description:
      'ids of `securityGroups` this VIF belongs to: its guest\'s IPv4 traffic in both directions must be allowed by a rule of one of them (stateful), see "Security groups" below. Absent: not filtered',
    docType: 'string[]',
    docDefault: 'not filtered',
  }),
});

export const vnetSchema = open({
  id: doc(vnetId, 'the vnet id carried in every FRAME (0 is invalid, 1 is the physical network); unique'),
  ...displayFields,
  security: doc(z.enum(SECURITY_LEVELS).default('none'), {
    description:
      'the vnet\'s security level (wire.md "SEALED frames"): `auth` authenticates every FRAME (AES-256-GCM used as GMAC, the frame in clear), `conf` also encrypts it. See "Sealed vnets" below',
  }),
  keys: doc(z.array(sealKeySchema).optional(), {
    description:
      'the sealing keys of an `auth`/`conf` vnet, one per key epoch: `id` u32 (the key id on the wire), `key` base64 of 32 bytes (AES-256), `salt` base64 of 4 bytes (the nonce prefix). Ids are unique. **Secrets**: never logged, never served by the admin API or reported to the console',
    docType: '`[{id, key, salt}]`',
  }),
  sendKeyId: doc(u32.optional(), {
    description: 'the key frames are sealed with; must be one of `keys[].id`. Every key listed is accepted on receipt',
    docType: 'u32',
    docDefault: 'the highest `keys[].id`',
  }),
  vlan: doc(vlanSchema.optional(), {
    description:
      'bridges the vnet to IEEE 802.1Q VLAN `vid` (1..4094) on host interface `interface` (seed 002 "VLAN interface"), see below. One VLAN of an interface carries one vnet',
    docType: '`{interface, vid}`',
  }),
  external: doc(externalUplinkSchema.optional(), {
    description:
      'the vnet is an external network\'s leg on this host: bridged to host interface `interface` (untagged, or VLAN `vid`), taking from it only frames to `mac` and broadcasts. Carried on this host alone (no FRAMEs, no VARP). See "External legs and NAT" below',
    docType: '`{interface, vid, mac}`',
  }),
  peers: doc(z.array(ipv4).optional(), {
    description: 'COAs of the hosts carrying this vnet: broadcasts on it are replicated to these only (when `multicast` is `null`)',
    docType: 'IPv4[]',
    docDefault: '`underlay.peers`',
  }),
  mtu: doc(mtu.optional(), { description: "MTU given to the vnet's guests", docDefault: 'guest default 1400' }),
  dhcp: doc(vnetDhcpSchema.optional(), { description: 'DHCP and DNS for the vnet\'s guests, see "DHCP and DNS" below', docType: 'object', docDefault: 'no DHCP, no resolver' }),
}).superRefine((v, ctx) => {
  const ids = new Set<number>();
  (v.keys ?? []).forEach((k, i) => {
    if (ids.has(k.id)) ctx.addIssue({ code: 'custom', path: ['keys', i, 'id'], message: `duplicate key id ${k.id}` });
    ids.add(k.id);
  });
  if (v.sendKeyId !== undefined && !ids.has(v.sendKeyId)) {
    ctx.addIssue({ code: 'custom', path: ['sendKeyId'], message: `key id ${v.sendKeyId} is not in keys` });
  }
  if (v.external && v.vlan) ctx.addIssue({ code: 'custom', path: ['external'], message: 'a vnet is either an external leg or bridged to a VLAN, not both' });
});

const HEX_KEY_RE = /^(?:[0-9a-fA-F]{2})+$/;

/** How a VARP key text is read: hex when it is all hex digits (the original format), else base64 (what the console writes). */
export function varpKeyEncoding(text: string): 'hex' | 'base64' | undefined {
  if (HEX_KEY_RE.test(text) && text.length >= 2 * VARP_KEY_MIN_BYTES) return 'hex';
  if (isBase64(text) && text.length > 0) return 'base64';
  return undefined;
}

function varpKeyBytes(text: string): number {
  const e = varpKeyEncoding(text);
  return e === 'hex' ? text.length / 2 : e === 'base64' ? base64Bytes(text) : 0;
}

export const varpConfigSchema = open({
  lifetimeMs: doc(z.number().int().positive().optional(), { description: 'a REACHABLE entry expires this long after its last confirmation', docDefault: '30000' }),
  requestCount: doc(z.number().int().positive().optional(), { description: 'REQUESTs per resolution', docDefault: '5' }),
  requestIntervalMs: doc(z.number().int().positive().optional(), { description: 'between REQUESTs, and from the last one to FAILED', docDefault: '3000' }),
  queueLimit: doc(z.number().int().nonnegative().optional(), { description: 'frames held while a destination resolves', docDefault: '16' }),
  failedHoldMs: doc(z.number().int().nonnegative().optional(), { description: 'how long a FAILED entry is kept', docDefault: '3000' }),
  key: doc(
    z.string().refine((t) => varpKeyBytes(t) >= VARP_KEY_MIN_BYTES, { message: `must be base64 or hex, at least ${VARP_KEY_MIN_BYTES} bytes` }).optional(),
    {
      description:
        'the deployment\'s VARP key, at least 16 bytes, base64 (what the console writes) or hex (text of hex digits only is read as hex): every message sent carries the HMAC trailer (wire.md "VARP", `AUTH`), and every message received without a valid one is dropped and counted (`softudc_underlay_rx_dropped_total{reason="varp_bad_auth"}`; a relay counts `relay_varp_bad_auth`). All hosts of a deployment need the same key: change it on all of them together. A secret: never logged, never served by the admin API',
      docType: 'string',
    },
  ),
});

export const underlaySchema = open({
  address: doc(ipv4, "this host's care-of address (COA); the UDP socket binds to it"),
  port: doc(z.number().int().min(1).max(65_535).default(DEFAULT_PORT), {
    description: 'the underlay UDP port; every agent of a deployment uses the same one',
    docType: '1..65535',
  }),
  multicast: doc(multicastGroup.nullable().default(DEFAULT_GROUP), {
    description:
      'VARP REQUESTs, announcements and broadcast frames go to this group (TTL 1) and the agent joins it on the COA\'s interface. `null`: no multicast, they go by unicast to `peers` (head-end replication)',
    docType: 'IPv4 group in 224.0.0.0/4, or `null`',
  }),
  peers: doc(z.array(ipv4).default([]), { description: "the other hosts' COAs; used when `multicast` is `null`", docType: 'IPv4[]' }),
  members: doc(z.array(ipv4).optional(), {
    description:
      'COAs this host also accepts FRAMEs and VARP from (wire.md "Admission"): the other hosts of its LAN segment when it uses multicast, and the carriers of its vnets behind vnetd relays, whose answers and unicast FRAMEs come straight to it. Datagrams from an address that is neither here, nor in `peers`, `vnets[].peers` or `relay.peers` are dropped and counted (`softudc_underlay_rx_dropped_total{reason="not_admitted"}`)',
    docType: 'IPv4[]',
    docDefault: '`[]`',
  }),
});

export const relaySchema = open({
  enabled: doc(z.boolean().default(true), '`false` (or `relay: null`, or no `relay`) turns the role off'),
  peers: doc(z.array(ipv4).default([]), {
    description: 'COAs of the vnetds of the other LAN segments (full mesh); RELAYs from any other address are dropped (`relay_not_peer`)',
    docType: 'IPv4[]',
  }),
  proxy: doc(z.boolean().default(false), 'proxy mode (firewall traversal), see below'),
});

/** The fields of a host state, once: the console's and the agent's schema below differ only in how routers and firewalls are taken. */
const hostStateShape = {
  host: doc(z.string().min(1).max(HOST_NAME_MAX_CHARS), { description: "the host's name (reported back in `/v1/state`)", docType: 'string, non-empty' }),
  generation: doc(z.number().int().nonnegative().default(0), {
    description: "the state's generation; reported as `appliedGeneration` once applied. The console raises it each time this host's state changes",
    docType: 'integer ≥ 0',
  }),
  underlay: doc(underlaySchema, { description: 'see below', docType: 'object' }),
  vnets: doc(z.array(vnetSchema).default([]), 'the vnets this host carries'),
  vifs: doc(z.array(vifSchema).default([]), 'the virtual interfaces attached on this host'),
  varp: doc(varpConfigSchema.optional(), { description: 'VARP tuning and the VARP key, see below', docType: 'object' }),
  relay: doc(relaySchema.nullable().optional(), { description: 'the vnetd relay role of this host, see below', docType: 'object or `null`' }),
  dns: doc(hostDnsSchema.optional(), { description: 'where the vnet resolvers send names they do not know, see "DHCP and DNS" below', docType: '`{upstream}`' }),
  securityGroups: doc(z.array(securityGroupSchema).max(SG_MAX_GROUPS_PER_HOST).optional(), {
    description: `the security groups the VIFs of this host belong to, see "Security groups" below. At most ${SG_MAX_RULES_PER_HOST} rules over all groups`,
    docDefault: '`[]`',
  }),
  addressSets: doc(z.array(addressSetSchema).max(SG_MAX_ADDRESS_SETS).optional(), {
    description: `the address sets rules name as \`remoteSet\` (remote groups' members), each sent once however many rules use it. At most ${SG_MAX_REMOTE_ENTRIES} addresses over all sets and rules' \`remote\` lists`,
    docType: '`[{id, addresses}]`',
    docDefault: '`[]`',
  }),
};

type Checked = Pick<z.output<z.ZodObject<typeof hostStateShape>>, 'vnets' | 'vifs' | 'securityGroups' | 'addressSets'>;

/** Cross-field rules: ids unique, VIFs on listed vnets, MAC and IP unique per vnet, one vnet per VLAN, one VIF per TAP name. */
function checkHostState(s: Checked, ctx: z.RefinementCtx): void {
  const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
  const vnets = new Set<number>();
  const vlans = new Map<string, number>();
  const legs = new Map<string, number>();
  s.vnets.forEach((v, i) => {
    if (v.external) {
      const key = `${v.external.interface}/${v.external.vid ?? 0}/${isMac(v.external.mac) ? parseMac(v.external.mac) : v.external.mac}`;
      const other = legs.get(key);
      if (other !== undefined) issue(['vnets', i, 'external', 'mac'], `MAC ${v.external.mac} on ${v.external.interface} is already vnet ${other}'s external leg`);
      else legs.set(key, v.id);
    }
    if (vnets.has(v.id)) issue(['vnets', i, 'id'], `duplicate vnet id ${v.id}`);
    vnets.add(v.id);
    if (v.vlan) {
      const key = `${v.vlan.interface}/${v.vlan.vid}`;
      const other = vlans.get(key);
      if (other !== undefined && other !== v.id) issue(['vnets', i, 'vlan'], `VLAN ${v.vlan.vid} on ${v.vlan.interface} already carries vnet ${other}`);
      else vlans.set(key, v.id);
    }
  });
  const ids = new Set<string>();
  const macs = new Set<string>();
  const ips = new Set<string>();
  const taps = new Map<string, string>();
  const groups = new Set<string>();
  const sets = new Set<string>();
  let entries = 0;
  (s.addressSets ?? []).forEach((a, i) => {
    if (sets.has(a.id)) issue(['addressSets', i, 'id'], `duplicate address set id "${a.id}"`);
    sets.add(a.id);
    entries += a.addresses.length;
  });
  let rules = 0;
  (s.securityGroups ?? []).forEach((g, i) => {
    if (groups.has(g.id)) issue(['securityGroups', i, 'id'], `duplicate security group id "${g.id}"`);
    groups.add(g.id);
    rules += g.rules.length;
    g.rules.forEach((r, j) => {
      entries += r.remote.length;
      if (r.remoteSet !== null && !sets.has(r.remoteSet)) issue(['securityGroups', i, 'rules', j, 'remoteSet'], `address set "${r.remoteSet}" is not in addressSets`);
    });
  });
  if (rules > SG_MAX_RULES_PER_HOST) issue(['securityGroups'], `${rules} rules over all security groups; a host takes at most ${SG_MAX_RULES_PER_HOST}`);
  if (entries > SG_MAX_REMOTE_ENTRIES) issue(['addressSets'], `${entries} remote addresses over all address sets and rules; a host takes at most ${SG_MAX_REMOTE_ENTRIES}`);
  s.vifs.forEach((v, i) => {
    (v.securityGroups ?? []).forEach((g, j) => {
      if (!groups.has(g)) issue(['vifs', i, 'securityGroups', j], `security group "${g}" is not in securityGroups`);
    });
    if (ids.has(v.id)) issue(['vifs', i, 'id'], `duplicate VIF id "${v.id}"`);
    ids.add(v.id);
    if (!vnets.has(v.vnet)) issue(['vifs', i, 'vnet'], `vnet ${v.vnet} is not in vnets`);
    const macKey = `${v.vnet}/${isMac(v.mac) ? parseMac(v.mac) : v.mac}`;
    if (macs.has(macKey)) issue(['vifs', i, 'mac'], `MAC ${v.mac} is used twice on vnet ${v.vnet}`);
    macs.add(macKey);
    const ipKey = `${v.vnet}/${isCidr(v.ip) ? parseCidr(v.ip).ip : v.ip}`;
    if (ips.has(ipKey)) issue(['vifs', i, 'ip'], `address ${v.ip} is used twice on vnet ${v.vnet}`);
    ips.add(ipKey);
    if (v.guest.kind === 'tap' && v.guest.ifname !== undefined) {
      const tapKey = `${v.guest.netns ?? ''}/${v.guest.ifname}`;
      const other = taps.get(tapKey);
      if (other !== undefined) issue(['vifs', i, 'guest', 'ifname'], `TAP ${v.guest.ifname} is already VIF "${other}"'s`);
      else taps.set(tapKey, v.id);
    }
  });
}

function checkUnique(list: { id: string }[] | undefined, section: string, ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  (list ?? []).forEach((x, i) => {
    if (seen.has(x.id)) ctx.addIssue({ code: 'custom', path: [section, i, 'id'], message: `duplicate id "${x.id}"` });
    seen.add(x.id);
  });
}

/** The whole host state, as the console compiles and streams it. */
export const hostStateSchema = open({
  ...hostStateShape,
  routers: doc(z.array(routerSchema).optional(), { description: 'the virtual routers running on this host, see below', docDefault: '`[]`' }),
  firewalls: doc(z.array(firewallSchema).optional(), { description: 'the virtual firewalls running on this host, see below', docDefault: '`[]`' }),
}).superRefine((s, ctx) => {
  checkHostState(s, ctx);
  checkUnique(s.routers, 'routers', ctx);
  checkUnique(s.firewalls, 'firewalls', ctx);
});

/**
 * What the agent validates as a whole before applying anything. Routers and
 * firewalls are left to its node manager, which takes them entry by entry
 * with routerSchema and firewallSchema: one bad entry is reported and
 * skipped while the rest of the state applies.
 */
export const agentStateSchema = open({ ...hostStateShape, routers: z.unknown().optional(), firewalls: z.unknown().optional() }).superRefine(checkHostState);

/** The state as the console writes it: every field the contract lists, nothing else, without its generation (the deploy service adds it). */
export type HostState = Omit<Known<z.output<typeof hostStateSchema>>, 'generation'>;
export type StateVnet = HostState['vnets'][number];
export type StateVif = HostState['vifs'][number];
export type StateRouter = NonNullable<HostState['routers']>[number];
export type StateFirewall = NonNullable<HostState['firewalls']>[number];
export type VnetKeyMaterial = Known<z.output<typeof sealKeySchema>>;
export type VifLimit = Known<z.output<typeof vifLimitSchema>>;

/** The state as the agent holds it after parsing (unknown fields kept). */
export type AgentState = z.output<typeof agentStateSchema>;
export type AgentStateInput = z.input<typeof agentStateSchema>;
export type VnetSpec = z.output<typeof vnetSchema>;
export type VifSpec = z.output<typeof vifSchema>;
export type GuestSpec = z.output<typeof guestSchema>;
export type UnderlaySpec = z.output<typeof underlaySchema>;
export type VarpConfigSpec = z.output<typeof varpConfigSchema>;
export type RelaySpec = z.output<typeof relaySchema>;
export type VlanSpec = z.output<typeof vlanSchema>;
export type StateSecurityGroup = NonNullable<HostState['securityGroups']>[number];
export type VifLimitSpec = z.output<typeof vifLimitSchema>;
export type { VnetDhcpSpec } from './dhcp.ts';

/** One value of `agent.desired`: a generation and the whole state for it (whose own `generation` is the same). */
export const desiredMessageSchema = open({ generation: z.number().int().nonnegative(), state: hostStateSchema });
export type StateAddressSet = NonNullable<HostState['addressSets']>[number];
