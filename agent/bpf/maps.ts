// Byte layouts of the maps of softudc.bpf.c (the C structs, in the host's
// byte order except where the C side keeps network order), encoded and
// decoded here and nowhere else.
import { endianness } from 'node:os';

const LE = endianness() === 'LE';
const put32 = (b: Buffer, v: number, off: number) => (LE ? b.writeUInt32LE(v >>> 0, off) : b.writeUInt32BE(v >>> 0, off));
const put16 = (b: Buffer, v: number, off: number) => (LE ? b.writeUInt16LE(v, off) : b.writeUInt16BE(v, off));
const get32 = (b: Buffer, off: number) => (LE ? b.readUInt32LE(off) : b.readUInt32BE(off));

/** FDB entry kinds (FDB_* in softudc.bpf.c). */
export const FDB_TAP = 1;
export const FDB_REMOTE = 2;
export const FDB_LOCAL = 3;
/** A namespace guest's veth pair, by its host end's ifindex. */
export const FDB_VETH = 4;

export const FDB_KEY_LEN = 12;
export const FDB_VAL_LEN = 16;
export const VIF_VAL_LEN = 16;
export const CFG_VAL_LEN = 20;
export const SEEN_VAL_LEN = 16;

/** Counter slots of sd_counters (the C enum), in order. */
export const COUNTERS = [
  'rx_decap_frames',
  'rx_decap_bytes',
  'rx_punt',
  'tx_encap_frames',
  'tx_encap_bytes',
  'tx_local_frames',
  'tx_local_bytes',
  'tx_punt',
  'errors',
  /** FRAMEs the agent sent for an offloaded guest, given the mark on the way out (sd_underlay_out). */
  'tx_marked',
  /** TCP frames for an offloaded VM's TAP sent through the GRO pair (sd_underlay), and frames that came out of it (sd_gro). */
  'rx_gro_in',
  'rx_gro_out',
  /** Dropped on the GRO pair: frames not the agent's or whose TAP had gone (sd_gro), and segments over its queue (fastpath.ts adds those). */
  'gro_drops',
] as const;
export type CounterName = (typeof COUNTERS)[number];

export type FdbValue =
  /** `gso`: an offloaded guest, which takes GSO super-packets and partial checksums (FDB_F_GSO). */
  | { kind: typeof FDB_TAP | typeof FDB_VETH; ifindex: number; gso?: boolean }
  /** `gso`: the destination takes GSO super-packets (FDB_F_GSO in softudc.bpf.c). */
  | { kind: typeof FDB_REMOTE; coa: number; port: number; gso?: boolean }
  | { kind: typeof FDB_LOCAL };

/** MAC as a 48-bit number (agent/wire's form). */
export function fdbKey(vnet: number, mac: number): Buffer {
  const b = Buffer.alloc(FDB_KEY_LEN);
  put32(b, vnet, 0);
  b.writeUIntBE(mac, 4, 6);
  return b;
}

export function decodeFdbKey(b: Buffer): { vnet: number; mac: number } {
  return { vnet: get32(b, 0), mac: b.readUIntBE(4, 6) };
}

export function fdbValue(v: FdbValue): Buffer {
  const b = Buffer.alloc(FDB_VAL_LEN);
  put32(b, v.kind, 0);
  if (v.kind === FDB_TAP || v.kind === FDB_VETH) put32(b, v.ifindex, 4);
  if (v.kind === FDB_REMOTE) {
    b.writeUInt32BE(v.coa >>> 0, 8);
    b.writeUInt16BE(v.port, 12);
  }
  if (v.kind !== FDB_LOCAL && v.gso) put16(b, 1, 14);
  return b;
}

/**
 * `offload`: an offloaded guest (a namespace guest's veth pair, or a VM's TAP
 * attached with vnet_hdr=on), which sends and takes partial checksums and GSO
 * super-packets; its FRAMEs carry the mark that tells receivers so.
 */
export function vifValue(vnet: number, ip: number, mac: number, offload = false): Buffer {
  const b = Buffer.alloc(VIF_VAL_LEN);
  put32(b, vnet, 0);
  b.writeUInt32BE(ip >>> 0, 4);
  b.writeUIntBE(mac, 8, 6);
  if (offload) put16(b, 1, 14);
  return b;
}

export function u32Key(n: number): Buffer {
  const b = Buffer.alloc(4);
  put32(b, n, 0);
  return b;
}

/** A COA as the C side keys it: network order. */
export function coaKey(coa: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(coa >>> 0, 0);
  return b;
}

/** `groIfindex`: the near end of the GRO pair (sd_gro), 0 without one. */
export function cfgValue(c: { coa: number; port: number; ifindex: number; maxFrame: number; groIfindex?: number }): Buffer {
  const b = Buffer.alloc(CFG_VAL_LEN);
  b.writeUInt32BE(c.coa >>> 0, 0);
  b.writeUInt16BE(c.port, 4);
  put32(b, c.ifindex, 8);
  put32(b, c.maxFrame, 12);
  put32(b, c.groIfindex ?? 0, 16);
  return b;
}

export function decodeSeen(b: Buffer): { ns: bigint; coa: number; offload: boolean } {
  return { ns: LE ? b.readBigUInt64LE(0) : b.readBigUInt64BE(0), coa: b.readUInt32BE(8), offload: get32(b, 12) === 1 };
}

/** Slot of sd_peer_counters' value (struct peer_ctr): four u64s per CPU. */
export const PEER_FIELDS = ['txDatagrams', 'txBytes', 'rxDatagrams', 'rxBytes'] as const;
export type PeerTotals = Record<(typeof PEER_FIELDS)[number], number>;
export const PEER_VAL_LEN = 8 * PEER_FIELDS.length;

/** A struct peer_ctr summed over `cpus` CPUs (each CPU's copy PEER_VAL_LEN bytes, one after the other). */
export function sumPeerPerCpu(b: Buffer, cpus: number): PeerTotals {
  const sums = PEER_FIELDS.map(() => 0n);
  for (let i = 0; i < cpus; i++) {
    for (let f = 0; f < PEER_FIELDS.length; f++) {
      const off = i * PEER_VAL_LEN + f * 8;
      sums[f]! += LE ? b.readBigUInt64LE(off) : b.readBigUInt64BE(off);
    }
  }
  return Object.fromEntries(PEER_FIELDS.map((f, i) => [f, Number(sums[i])])) as PeerTotals;
}

/** The sum over CPUs of a per-CPU u64 value (`cpus` slots of 8 bytes). */
export function sumPerCpu(b: Buffer, cpus: number): number {
  let n = 0n;
  for (let i = 0; i < cpus; i++) n += LE ? b.readBigUInt64LE(i * 8) : b.readBigUInt64BE(i * 8);
  return Number(n);
}
