// IEEE 802.1Q tags, for a VLAN interface in trunk mode (the kernel has no
// 802.1Q support, so the agent tags and untags): the 4-byte tag sits after
// the source MAC — TPID 0x8100, then PCP (3 bits), DEI (1 bit), VID (12 bits).
import { ETH_HEADER_LEN, ETHERTYPE_VLAN, VLAN_TAG_LEN, VLAN_VID_MAX } from '../wire/index.ts';

const TYPE_OFFSET = 12;
const TCI_OFFSET = 14;

/** The frame with a tag for `vid` (priority 0) inserted after the MAC addresses. */
export function addVlanTag(frame: Buffer, vid: number): Buffer {
  const out = Buffer.allocUnsafe(frame.length + VLAN_TAG_LEN);
  frame.copy(out, 0, 0, TYPE_OFFSET);
  out.writeUInt16BE(ETHERTYPE_VLAN, TYPE_OFFSET);
  out.writeUInt16BE(vid & VLAN_VID_MAX, TCI_OFFSET);
  frame.copy(out, TYPE_OFFSET + VLAN_TAG_LEN, TYPE_OFFSET);
  return out;
}

/** The VID of an 802.1Q-tagged frame, or -1 when it carries no (complete) tag. */
export function vlanIdOf(frame: Buffer): number {
  if (frame.length < ETH_HEADER_LEN + VLAN_TAG_LEN || frame.readUInt16BE(TYPE_OFFSET) !== ETHERTYPE_VLAN) return -1;
  return frame.readUInt16BE(TCI_OFFSET) & VLAN_VID_MAX;
}

/** The frame without its outer tag (a new buffer). */
export function stripVlanTag(frame: Buffer): Buffer {
  const out = Buffer.allocUnsafe(frame.length - VLAN_TAG_LEN);
  frame.copy(out, 0, 0, TYPE_OFFSET);
  frame.copy(out, TYPE_OFFSET, TYPE_OFFSET + VLAN_TAG_LEN);
  return out;
}
