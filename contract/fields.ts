// The building blocks of the contract's schemas: how an object treats fields
// it does not list, and the field types (addresses, ids, keys) with the
// error messages an operator sees. Addresses are parsed by the wire codecs
// (agent/wire/addr.ts), the same code that puts them in packets.
import { z } from 'zod';
import { isGroupMac, parseCidr, parseIp, parseMac } from '../agent/wire/addr.ts';
import {
  DISPLAY_NAME_MAX_CHARS, IFNAME_MAX_CHARS, IFNAME_PATTERN, ITEM_ID_MAX_CHARS, NETNS_MAX_CHARS, NETNS_PATTERN, STATE_MTU_MAX, STATE_MTU_MIN,
  VNID_MAX, VNID_MIN,
} from './limits.ts';
import { UINT32_MAX, uint32 } from './primitives.ts';

/**
 * An object that passes fields it does not list on, unchanged: everything
 * the console sends an agent, so that an older agent keeps what a newer
 * console adds and nothing on the way can strip a field.
 */
export const open = <S extends z.ZodRawShape>(shape: S) => z.looseObject(shape);

/**
 * An object that refuses fields it does not list, naming them: what agents
 * send the console, which stores only what it knows (consoles are upgraded
 * before their agents).
 */
export const closed = <S extends z.ZodRawShape>(shape: S) => z.strictObject(shape);

/**
 * The fields a schema lists, without the index signature of an open object:
 * the type the console compiles to, so it cannot write a field the contract
 * does not carry.
 */
export type Known<T> = T extends readonly (infer U)[]
  ? Known<U>[]
  : T extends object
    ? { [K in keyof T as string extends K ? never : number extends K ? never : K]: Known<T[K]> }
    : T;

/** Documentation of a field beyond what its schema says (docs/agent-state.md is generated from both). */
export interface FieldDoc {
  description?: string;
  /** How the type reads in the docs, when the schema's own type says too little (e.g. "IPv4 `a.b.c.d`"). */
  docType?: string;
  /** What an absent field means, when it is not a plain default value (e.g. "`underlay.peers`"). */
  docDefault?: string;
}

/** Attaches documentation to a schema (kept in its metadata, read by contract/docs.ts). */
export function doc<T extends z.ZodType>(schema: T, d: FieldDoc | string): T {
  return schema.meta(typeof d === 'string' ? { description: d } : { ...d });
}

function valid<T>(parse: (s: string) => T): (s: string) => boolean {
  return (s) => {
    try {
      parse(s);
      return true;
    } catch {
      return false;
    }
  };
}
export const isIpv4 = valid(parseIp);
export const isCidr = valid(parseCidr);
export const isMac = valid(parseMac);

/** Linux refuses "." and ".." as device names even where the pattern allows them. */
export const isIfname = (s: string) => IFNAME_PATTERN.test(s) && s !== '.' && s !== '..';
export const isNetnsName = (s: string) => NETNS_PATTERN.test(s) && s !== '.' && s !== '..';

export const ipv4 = doc(z.string().refine(isIpv4, { message: 'must be an IPv4 address a.b.c.d' }), { docType: 'IPv4 `a.b.c.d`' });
export const multicastGroup = ipv4
  .refine((s) => !isIpv4(s) || parseIp(s) >>> 28 === 0xe, { message: 'must be an IPv4 multicast group (224.0.0.0/4)' })
  .meta({ docType: 'IPv4 group in 224.0.0.0/4' });
export const cidr = doc(z.string().refine(isCidr, { message: 'must be an IPv4 address with prefix length, a.b.c.d/len' }), { docType: '`a.b.c.d/len`' });
/** A prefix: host bits zero. */
export const network = cidr.refine((s) => !isCidr(s) || parseCidr(s).ip === parseCidr(s).network, {
  message: 'must be a network address (host bits zero)',
});
/** An interface address: a host of its prefix (not the network or broadcast address below /31). */
export const interfaceCidr = cidr.refine(
  (s) => {
    if (!isCidr(s)) return true;
    const c = parseCidr(s);
    if (c.prefixLen >= 31) return true;
    return c.ip !== c.network && c.ip !== (c.network | ~c.mask) >>> 0;
  },
  { message: 'must be a host address of its prefix, not the network or broadcast address' },
);
export const mac = doc(
  z
    .string()
    .refine(isMac, { message: 'must be a MAC address aa:bb:cc:dd:ee:ff' })
    .refine((s) => !isMac(s) || (!isGroupMac(parseMac(s)) && parseMac(s) !== 0), { message: 'must be a unicast, nonzero MAC address' }),
  { docType: '`aa:bb:cc:dd:ee:ff`' },
);

export const u32 = doc(uint32(), { docType: `0..${UINT32_MAX}` });
export const vnetId = doc(z.number().int().min(VNID_MIN, { message: 'vnet ids 0 and 1 are reserved' }).max(VNID_MAX), {
  docType: `integer ${VNID_MIN}..${VNID_MAX}`,
});
export const mtu = doc(z.number().int().min(STATE_MTU_MIN).max(STATE_MTU_MAX), { docType: `${STATE_MTU_MIN}..${STATE_MTU_MAX}` });
/** The id of a VIF, router or firewall on its host. */
export const itemId = z.string().min(1).max(ITEM_ID_MAX_CHARS);
export const IFNAME_DOC_TYPE = `interface name (1-${IFNAME_MAX_CHARS} of \`A-Z a-z 0-9 _ . -\`)`;
export const NETNS_DOC_TYPE = `namespace name (1-${NETNS_MAX_CHARS} of \`A-Z a-z 0-9 _ . -\`)`;
export const ifname = doc(
  z.string().refine(isIfname, { message: `must be an interface name of 1-${IFNAME_MAX_CHARS} characters A-Z a-z 0-9 _ . -` }),
  { docType: IFNAME_DOC_TYPE },
);

const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
export const isBase64 = (t: string) => BASE64_RE.test(t);
/** Bytes encoded by a valid base64 text. */
export const base64Bytes = (t: string) => (t.length / 4) * 3 - (t.endsWith('==') ? 2 : t.endsWith('=') ? 1 : 0);

/** Strict base64 of exactly `bytes` bytes. */
export function base64Of(bytes: number) {
  return doc(
    z.string().refine((t) => isBase64(t) && base64Bytes(t) === bytes, { message: `must be base64 of ${bytes} bytes` }),
    { docType: `base64 of ${bytes} bytes` },
  );
}

/** Display fields the console writes beside every id; agents only show them. */
export const displayFields = {
  name: doc(z.string().max(DISPLAY_NAME_MAX_CHARS).optional(), {
    description: 'for people: the console writes the names leading to the entry, e.g. `shop/web-1/eth0` (farm, VM, VIF); shown in logs and reports, never used as a key',
    docType: 'string',
  }),
  farm: doc(z.string().max(DISPLAY_NAME_MAX_CHARS).optional(), {
    description: "the console's id of the farm the entry belongs to; agents ignore it",
    docType: 'string',
  }),
};

/** A reference to one of the state's vnets. */
export const vnetRef = doc(vnetId, { description: 'one of `vnets[].id`', docType: 'vnet id' });
