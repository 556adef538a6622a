// Helpers the VLAN interface (uplink.ts) and external legs (external.ts)
// share: checking an existing VLAN device, and closing a frame reader.
import { ip } from '../guests/netns.ts';
import type { ReaderHandle, TapAddon } from '../native/index.ts';

/** Throws unless the existing device `sub` is VLAN `vid` on `iface`. */
export async function checkVlanDevice(sub: string, iface: string, vid: number): Promise<void> {
  const info = JSON.parse(await ip(['-d', '-j', 'link', 'show', 'dev', sub])) as Array<{
    link?: string;
    linkinfo?: { info_kind?: string; info_data?: { id?: number } };
  }>;
  const l = info[0];
  if (l?.linkinfo?.info_kind !== 'vlan' || l.linkinfo.info_data?.id !== vid || l.link !== iface) {
    throw new Error(`${sub} exists and is not VLAN ${vid} on ${iface}`);
  }
}

/** Stops the reader on `fd` (which closes it), or closes `fd` when no reader runs. */
export function closeReader(addon: TapAddon | undefined, reader: ReaderHandle | undefined, fd: number): void {
  if (!addon) return;
  if (reader) addon.stopReader(reader);
  else if (fd >= 0) addon.closeFd(fd);
}
