// Inactive ports: a live migration's destination (docs/operations.md "Live
// migration of a VM"). The agent attaches the VM's TAP before the VM arrives,
// but the port claims nothing until the VM speaks: QEMU sends RARP
// announcements with the VM's MAC the moment the VM resumes on the new host
// (qemu_announce_self), as OVN's activation-strategy=rarp expects. The first
// frame from the port's own guest with the port's own MAC as source activates
// it; nothing from the underlay ever does (an inactive port is in no vnet's
// MAC table, so underlay frames never reach it).
import { ETH_HEADER_LEN } from '../wire/index.ts';
import { C, type SwitchPort } from './types.ts';

/** Told when a port activates, before its first frame is switched: the VIF announces itself there. */
export interface Activation {
  activated(port: SwitchPort): void;
}

/** Null when `frame`, sent by the guest of inactive `port`, activates it; else the counter of its drop. */
export function incomingCheck(port: SwitchPort, frame: Buffer): string | null {
  if (frame.length < ETH_HEADER_LEN) return C.inactiveDropped.runt;
  if (frame.readUIntBE(6, 6) !== port.mac) return C.inactiveDropped.src_mac;
  return null;
}
