// An external network's leg on this host (`vnets[].external`): the vnet is
// bridged to a host interface (untagged) or to one of its VLANs (IF.VID,
// shared between the legs on that VLAN), for the one router or firewall
// interface on it. A macvlan device of that interface carries the leg's MAC,
// so the interface takes from the LAN only frames to that MAC and broadcasts;
// the agent reads and writes it through an AF_PACKET socket:
//
//   vnet switch <-> AF_PACKET <-> macvlan sdxm<vnet> (leg MAC) <-> IF[.VID] <-> LAN
//
// Nothing of the host's own stack is on these devices: no addresses (IPv6
// disabled, no ARP, no forwarding from them). The vnet is host-local: LAN
// MACs are never attached to VARP and nothing goes over the underlay
// (the switch knows the vnet as local).
import { writeFile } from 'node:fs/promises';
import { ip, ipBatch, linkExists, deleteLink, IpCommandError } from '../guests/netns.ts';
import { loadTapAddon, type ReaderHandle, type TapAddon } from '../native/index.ts';
import { isGroupMac, parseMac } from '../wire/index.ts';
import { vlanDeviceNames } from './uplink.ts';
import { checkVlanDevice, closeReader } from './devices.ts';
import type { Counters } from '../metrics.ts';
import type { Logger } from '../log.ts';
import type { Headroom } from '../native/headroom.ts';
import type { Uplink } from '../switch/index.ts';
import type { ExternalUplinkSpec } from '../../contract/nat.ts';

const BATCH = 64;
const P = 'softudc_external_';

export interface ExternalContext {
  logger: Logger;
  counters: Counters;
  headroom?: Headroom;
  /** IF.VID devices shared between legs: taken and released by name. */
  subs: SharedSubs;
}

/** The macvlan of vnet `vnet`'s leg: unique by construction (vnet ids are unique on a host). */
export function externalDeviceName(vnet: number): string {
  return `sdxm${vnet}`;
}

/** VLAN sub-interfaces used by external legs, created by the first leg and deleted with the last (unless they were there before). */
export class SharedSubs {
  private readonly users = new Map<string, { count: number; created: boolean }>();

  async take(iface: string, vid: number): Promise<string> {
    const sub = vlanDeviceNames(0, { interface: iface, vid }).sub;
    const u = this.users.get(sub);
    if (u) {
      u.count++;
      return sub;
    }
    let created = false;
    if (await linkExists(sub)) {
      await checkVlanDevice(sub, iface, vid);
    } else {
      try {
        await ip(['link', 'add', 'link', iface, 'name', sub, 'type', 'vlan', 'id', String(vid)]);
      } catch (err) {
        if (err instanceof IpCommandError && /unknown device type|not supported/i.test(err.stderr)) throw new Error('this kernel has no 802.1Q support', { cause: err });
        throw err;
      }
      created = true;
      await ipBatch([['link', 'set', 'dev', sub, 'addrgenmode', 'none'], ['link', 'set', 'dev', sub, 'up']]);
    }
    this.users.set(sub, { count: 1, created });
    return sub;
  }

  async release(sub: string): Promise<void> {
    const u = this.users.get(sub);
    if (!u) return;
    if (--u.count > 0) return;
    this.users.delete(sub);
    if (u.created) await deleteLink(sub);
  }
}

export class ExternalUplink implements Uplink {
  /** LAN → vnet; set by the manager to the switch's fromUplink. */
  onFrame: (frame: Buffer) => void = () => {};
  readonly device: string;
  readonly local = true;
  private readonly mac: number;
  private addon: TapAddon | undefined;
  private fd = -1;
  private reader: ReaderHandle | undefined;
  private sub: string | null = null;

  constructor(
    readonly vnet: number,
    readonly spec: ExternalUplinkSpec,
    private readonly ctx: ExternalContext,
  ) {
    this.device = externalDeviceName(vnet);
    this.mac = parseMac(spec.mac);
  }

  async start(): Promise<void> {
    const mv = this.device;
    try {
      if (!(await linkExists(this.spec.interface))) throw new Error(`interface ${this.spec.interface} does not exist`);
      this.addon = loadTapAddon();
      const parent = this.spec.vid === null ? this.spec.interface : (this.sub = await this.ctx.subs.take(this.spec.interface, this.spec.vid));
      await deleteLink(mv); // a leftover of ours
      await ipBatch([
        ['link', 'add', 'link', parent, 'name', mv, 'address', this.spec.mac, 'type', 'macvlan', 'mode', 'bridge'],
        ['link', 'set', 'dev', mv, 'addrgenmode', 'none', 'arp', 'off'],
      ]);
      // The host stack never answers or forwards anything arriving on it.
      await writeFile(`/proc/sys/net/ipv6/conf/${mv}/disable_ipv6`, '1').catch(() => {});
      await writeFile(`/proc/sys/net/ipv4/conf/${mv}/forwarding`, '0');
      await ipBatch([['link', 'set', 'dev', parent, 'up'], ['link', 'set', 'dev', mv, 'up']]);
      this.fd = this.addon.openPacket(mv, true);
      this.reader = this.addon.startReader(
        this.fd,
        (frames) => this.fromLan(frames),
        (err) => {
          this.ctx.counters.inc(`${P}read_errors_total`);
          this.ctx.logger.error('external leg read failed', { vnet: this.vnet, device: mv, code: err.code });
          this.reader = undefined;
          this.fd = -1;
        },
        BATCH,
        true,
        this.ctx.headroom,
      );
    } catch (err) {
      await this.teardown();
      const where = this.spec.vid === null ? this.spec.interface : `VLAN ${this.spec.vid} on ${this.spec.interface}`;
      throw new Error(`cannot bridge external vnet ${this.vnet} to ${where}: ${(err as Error).message}`, { cause: err });
    }
    this.ctx.logger.info('external leg up', { vnet: this.vnet, interface: this.spec.interface, vid: this.spec.vid, device: mv });
  }

  private fromLan(frames: Buffer[]): void {
    this.ctx.counters.inc(`${P}rx_frames_total`, frames.length);
    for (const f of frames) {
      if (f.length < 14) continue;
      const dst = f.readUIntBE(0, 6);
      // The macvlan takes the leg's MAC and group frames only; anything else is not ours.
      if (dst !== this.mac && !isGroupMac(dst)) {
        this.ctx.counters.inc(`${P}rx_not_for_leg_total`);
        continue;
      }
      try {
        this.onFrame(f);
      } catch {
        this.ctx.counters.inc(`${P}rx_handler_errors_total`);
      }
    }
  }

  /** Every unicast MAC but the leg's is on the LAN side (the vnet has no other port). */
  owns(mac: number): boolean {
    return mac !== this.mac && !isGroupMac(mac);
  }

  deliver(frame: Buffer): void {
    if (this.fd < 0 || !this.addon) return void this.ctx.counters.inc(`${P}tx_drops_total`);
    try {
      if (this.addon.write(this.fd, frame, true)) this.ctx.counters.inc(`${P}tx_frames_total`);
      else this.ctx.counters.inc(`${P}tx_drops_total`);
    } catch {
      this.ctx.counters.inc(`${P}tx_drops_total`);
    }
  }

  async stop(): Promise<void> {
    await this.teardown();
    this.ctx.logger.info('external leg down', { vnet: this.vnet, interface: this.spec.interface, vid: this.spec.vid });
  }

  private async teardown(): Promise<void> {
    closeReader(this.addon, this.reader, this.fd);
    this.reader = undefined;
    this.fd = -1;
    const warn = (err: Error) => this.ctx.logger.warn('external leg cleanup failed', { vnet: this.vnet, error: err.message });
    await deleteLink(this.device).catch(warn);
    if (this.sub !== null) await this.ctx.subs.release(this.sub).catch(warn);
    this.sub = null;
  }
}
