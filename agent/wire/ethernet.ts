// Ethernet II with an optional IEEE 802.1Q tag; no FCS (spec "FRAME": the
// frame carried in a FRAME has none, and TAP devices neither give nor want one).
import {
  ETH_DST_OFFSET,
  ETH_HEADER_LEN,
  ETH_SRC_OFFSET,
  ETH_TYPE_OFFSET,
  ETH_VLAN_HEADER_LEN,
  ETHERTYPE_VLAN,
  MAC_WIDTH,
  VLAN_TAG_LEN,
  VLAN_VID_MAX,
} from './constants.ts';
import { isValidMac } from './addr.ts';
import { WireError, need } from './errors.ts';

export interface VlanTag {
  /** Priority code point, 3 bits. */
  pcp: number;
  /** Drop eligible indicator, 1 bit. */
  dei: number;
  /** VLAN id, 12 bits. */
  vid: number;
}

export interface EthernetFrame {
  dst: number;
  src: number;
  vlan?: VlanTag;
  /** The ethertype after the tag, when there is one. */
  ethertype: number;
  payload: Buffer;
}

export function decodeEthernet(buf: Buffer): EthernetFrame {
  need(buf, ETH_HEADER_LEN, 'Ethernet');
  const dst = readMac(buf, ETH_DST_OFFSET);
  const src = readMac(buf, ETH_SRC_OFFSET);
  const type = buf.readUInt16BE(ETH_TYPE_OFFSET);
  if (type !== ETHERTYPE_VLAN) {
    return { dst, src, ethertype: type, payload: buf.subarray(ETH_HEADER_LEN) };
  }
  need(buf, ETH_VLAN_HEADER_LEN, 'Ethernet 802.1Q');
  const tci = buf.readUInt16BE(ETH_HEADER_LEN);
  return {
    dst,
    src,
    vlan: { pcp: tci >>> 13, dei: (tci >>> 12) & 1, vid: tci & VLAN_VID_MAX },
    ethertype: buf.readUInt16BE(ETH_HEADER_LEN + 2),
    payload: buf.subarray(ETH_VLAN_HEADER_LEN),
  };
}

export function encodeEthernet(frame: EthernetFrame): Buffer {
  if (!isValidMac(frame.dst)) throw new WireError('BAD_ADDRESS', 'Ethernet dst: not a 48-bit MAC');
  if (!isValidMac(frame.src)) throw new WireError('BAD_ADDRESS', 'Ethernet src: not a 48-bit MAC');
  checkU16(frame.ethertype, 'Ethernet ethertype');
  const hdr = frame.vlan ? ETH_VLAN_HEADER_LEN : ETH_HEADER_LEN;
  const out = Buffer.allocUnsafe(hdr + frame.payload.length);
  out.writeUIntBE(frame.dst, ETH_DST_OFFSET, MAC_WIDTH);
  out.writeUIntBE(frame.src, ETH_SRC_OFFSET, MAC_WIDTH);
  if (frame.vlan) {
    const { pcp, dei, vid } = frame.vlan;
    if (!(pcp >= 0 && pcp <= 7 && Number.isInteger(pcp))) throw new WireError('BAD_HEADER', 'VLAN pcp: must be 0..7');
    if (dei !== 0 && dei !== 1) throw new WireError('BAD_HEADER', 'VLAN dei: must be 0 or 1');
    if (!(vid >= 0 && vid <= VLAN_VID_MAX && Number.isInteger(vid))) {
      throw new WireError('BAD_HEADER', 'VLAN vid: must be 0..4095');
    }
    out.writeUInt16BE(ETHERTYPE_VLAN, ETH_TYPE_OFFSET);
    out.writeUInt16BE((pcp << 13) | (dei << 12) | vid, ETH_HEADER_LEN);
    out.writeUInt16BE(frame.ethertype, ETH_HEADER_LEN + 2);
  } else {
    out.writeUInt16BE(frame.ethertype, ETH_TYPE_OFFSET);
  }
  frame.payload.copy(out, hdr);
  return out;
}

// Per-packet peeks: the switch needs only addresses and the ethertype, so it
// reads them in place (at `offset`, e.g. FRAME_HEADER_LEN inside a FRAME
// datagram) instead of building an object and a view per frame.

/** A 48-bit MAC at `at`, read as two integer loads (faster than readUIntBE). */
function readMac(buf: Buffer, at: number): number {
  return buf.readUInt16BE(at) * 0x1_0000_0000 + buf.readUInt32BE(at + 2);
}

export function peekDst(buf: Buffer, offset = 0): number {
  need(buf, offset + ETH_HEADER_LEN, 'Ethernet');
  return readMac(buf, offset + ETH_DST_OFFSET);
}

export function peekSrc(buf: Buffer, offset = 0): number {
  need(buf, offset + ETH_HEADER_LEN, 'Ethernet');
  return readMac(buf, offset + ETH_SRC_OFFSET);
}

/** The ethertype after an optional 802.1Q tag. */
export function peekEthertype(buf: Buffer, offset = 0): number {
  need(buf, offset + ETH_HEADER_LEN, 'Ethernet');
  const type = buf.readUInt16BE(offset + ETH_TYPE_OFFSET);
  if (type !== ETHERTYPE_VLAN) return type;
  need(buf, offset + ETH_VLAN_HEADER_LEN, 'Ethernet 802.1Q');
  return buf.readUInt16BE(offset + ETH_HEADER_LEN + 2);
}

/** Where the payload starts, relative to the frame: 14, or 18 behind an 802.1Q tag. */
export function payloadOffset(buf: Buffer, offset = 0): number {
  need(buf, offset + ETH_HEADER_LEN, 'Ethernet');
  if (buf.readUInt16BE(offset + ETH_TYPE_OFFSET) !== ETHERTYPE_VLAN) return ETH_HEADER_LEN;
  need(buf, offset + ETH_VLAN_HEADER_LEN, 'Ethernet 802.1Q');
  return ETH_HEADER_LEN + VLAN_TAG_LEN;
}

function checkU16(v: number, field: string): void {
  if (!(Number.isInteger(v) && v >= 0 && v <= 0xffff)) throw new WireError('BAD_HEADER', `${field}: must be 0..65535`);
}
