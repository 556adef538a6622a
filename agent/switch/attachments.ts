// What a vnet may have besides its ports: the security transform of a sealed
// vnet (agent/security) and an uplink to a LAN (agent/vlan). The switch only
// knows these shapes, never the modules behind them.
import { FRAME_HEADER_LEN, writeFrameHeader, type FrameMessage } from '../wire/index.ts';

/** The security transform of a sealed vnet (spec "SEALED frames"): a VnetKeyring in the agent. */
export interface Sealer {
  /** False while the vnet has no key to send with. */
  readonly canSend: boolean;
  /** The SEALED FRAME datagram for a guest frame, or why it cannot be sent. */
  seal(ethernet: Buffer): Buffer | string;
  /** The frame and its authenticated sender's COA, or why the datagram is dropped. */
  open(datagram: Buffer): { ethernet: Buffer; sender: number } | string;
}

/** A LAN bridged into a vnet: it takes frames for the MACs it learnt and every broadcast. */
export interface Uplink {
  deliver(frame: Buffer): void;
  /** True for a MAC seen on the LAN side. */
  owns(mac: number): boolean;
  /** The vnet lives on this host only (an external leg): nothing of it goes over the underlay. */
  readonly local?: boolean;
}

/** The whole datagram of a decoded FRAME (its header is part of a sealed frame's additional data). */
export function rebuild(msg: FrameMessage): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_LEN + msg.ethernet.length);
  writeFrameHeader(out, 0, msg.vnet, msg.flags);
  msg.ethernet.copy(out, FRAME_HEADER_LEN);
  return out;
}
