// The VLAN interface of seed 002 ("a VLAN interface to a virtual local area
// network ... use the identifier of a virtual network to determine an
// identifier of a corresponding VLAN"): a vnet bridged to an IEEE 802.1Q VLAN
// on one of the host's interfaces. Node has no raw AF_PACKET sockets of its
// own, so the kernel does the tagging: a VLAN sub-interface IF.VID and a TAP
// the agent holds, joined by a kernel bridge.
//
//   kernel mode: vnet switch <-> TAP (agent fd) <-> bridge <-> IF.VID <-> IF (tagged VID)
//
// A kernel built without 802.1Q (CONFIG_VLAN_8021Q) cannot make IF.VID; then,
// if IF carries no addresses of its own (a dedicated trunk port), the bridge
// takes IF itself and the agent tags and untags (tag.ts):
//
//   trunk mode:  vnet switch <-> tag/untag <-> TAP <-> bridge <-> IF (all VLANs)
//
// Frames the vnet sends to a LAN MAC (or broadcasts) leave tagged on IF;
// tagged frames from the LAN enter the vnet. The LAN's source MACs are learnt
// and attached to VARP, so hosts elsewhere resolve them to this host.
import type { Headroom } from '../native/headroom.ts';
import { createHash } from 'node:crypto';
import { IFNAME_MAX_CHARS } from '../../contract/limits.ts';
import { ip, ipBatch, linkExists, deleteLink, IpCommandError } from '../guests/netns.ts';
import { addVlanTag, stripVlanTag, vlanIdOf } from './tag.ts';
import { checkVlanDevice, closeReader } from './devices.ts';
import { loadTapAddon, type ReaderHandle, type TapAddon } from '../native/index.ts';
import { isGroupMac } from '../wire/index.ts';
import type { Counters } from '../metrics.ts';
import type { Logger } from '../log.ts';
import type { Uplink } from '../switch/index.ts';

export interface VlanSpec {
  interface: string;
  vid: number;
}

export interface VlanContext {
  logger: Logger;
  counters: Counters;
  /** A LAN MAC is reachable through this host (VARP answers for it) / no longer. */
  attach(vnet: number, mac: number): void;
  detach(vnet: number, mac: number): void;
  /** The reader batch owner shared with the switch (agent/native/headroom.ts). */
  headroom?: Headroom;
}

/** LAN MACs learnt per uplink; beyond it new ones are not learnt (a flood of random sources must not exhaust memory). */
export const MAX_LAN_MACS = 4096;
/** A LAN MAC not heard from for this long is forgotten (and withdrawn). */
export const LAN_MAC_AGE_MS = 300_000;
const SWEEP_MS = 30_000;
const BATCH = 64;
const P = 'softudc_vlan_';

/** Names of the kernel devices for a vnet's VLAN interface, all within IFNAMSIZ. */
export function vlanDeviceNames(vnet: number, spec: VlanSpec): { sub: string; bridge: string; tap: string } {
  const plain = `${spec.interface}.${spec.vid}`;
  const hash = createHash('sha256').update(plain).digest('hex').slice(0, 8);
  return {
    sub: plain.length <= IFNAME_MAX_CHARS ? plain : `sdq${hash}`,
    bridge: `sdvb${vnet}`,
    tap: `sdvt${vnet}`,
  };
}

export class VlanUplink implements Uplink {
  /** LAN → vnet; set by the agent to the switch's fromUplink. */
  onFrame: (frame: Buffer) => void = () => {};
  private readonly names: { sub: string; bridge: string; tap: string };
  private readonly lanMacs = new Map<number, number>();
  private addon: TapAddon | undefined;
  private fd = -1;
  private reader: ReaderHandle | undefined;
  private createdSub = false;
  private trunk = false;
  private sweeper: NodeJS.Timeout | null = null;

  constructor(
    readonly vnet: number,
    readonly spec: VlanSpec,
    private readonly ctx: VlanContext,
  ) {
    this.names = vlanDeviceNames(vnet, spec);
  }

  get devices(): { sub: string; bridge: string; tap: string } {
    return { ...this.names };
  }

  /** 'kernel': IF.VID does the tagging; 'trunk': IF is bridged and the agent tags. */
  get mode(): 'kernel' | 'trunk' {
    return this.trunk ? 'trunk' : 'kernel';
  }

  async start(): Promise<void> {
    const { sub, bridge, tap } = this.names;
    try {
      if (!(await linkExists(this.spec.interface))) throw new Error(`interface ${this.spec.interface} does not exist`);
      this.addon = loadTapAddon();
      await deleteLink(bridge); // a leftover of ours
      await ipBatch([
        ['link', 'add', bridge, 'type', 'bridge', 'forward_delay', '0', 'mcast_snooping', '0'],
        ['link', 'set', 'dev', bridge, 'addrgenmode', 'none'],
      ]);
      this.trunk = !(await this.ensureSub(sub));
      if (this.trunk) await this.checkTrunkPort();
      const t = this.addon.openTap(tap, false, false);
      this.fd = t.fd;
      await ipBatch([
        ['link', 'set', 'dev', tap, 'addrgenmode', 'none'],
        ['link', 'set', 'dev', tap, 'master', bridge, 'up'],
        ...(this.trunk ? [] : [['link', 'set', 'dev', sub, 'master', bridge, 'up']]),
        ['link', 'set', 'dev', this.spec.interface, ...(this.trunk ? ['master', bridge] : []), 'up'],
        ['link', 'set', 'dev', bridge, 'up'],
      ]);
      this.reader = this.addon.startReader(
        this.fd,
        (frames) => this.fromLan(frames),
        (err) => {
          this.ctx.counters.inc(`${P}read_errors_total`);
          this.ctx.logger.error('VLAN uplink read failed', { vnet: this.vnet, tap, code: err.code });
          this.reader = undefined;
          this.fd = -1;
        },
        BATCH,
        false,
        this.ctx.headroom,
      );
    } catch (err) {
      await this.teardown();
      throw new Error(`cannot bridge vnet ${this.vnet} to VLAN ${this.spec.vid} on ${this.spec.interface}: ${(err as Error).message}`, { cause: err });
    }
    this.sweeper = setInterval(() => this.age(), SWEEP_MS);
    this.sweeper.unref();
    this.ctx.logger.info('VLAN interface up', { vnet: this.vnet, interface: this.spec.interface, vid: this.spec.vid, mode: this.mode, ...this.names });
  }

  /**
   * Trunk mode takes IF into a bridge: only for a port with no addresses and
   * no other master (its own traffic would stop), never a host's uplink.
   */
  private async checkTrunkPort(): Promise<void> {
    const info = JSON.parse(await ip(['-j', 'addr', 'show', 'dev', this.spec.interface])) as Array<{
      master?: string;
      addr_info?: Array<{ family?: string; scope?: string; local?: string }>;
    }>;
    const l = info[0];
    const used = (l?.addr_info ?? []).filter((a) => a.scope !== 'link' && a.scope !== 'host');
    if (used.length > 0) {
      throw new Error(`this kernel has no 802.1Q support and ${this.spec.interface} has addresses (${used.map((a) => a.local).join(', ')}): it cannot be used as a trunk`);
    }
    if (l?.master) throw new Error(`this kernel has no 802.1Q support and ${this.spec.interface} already belongs to ${l.master}`);
  }

  /**
   * Uses an existing IF.VID when it is that VLAN on that interface, creates it
   * otherwise; false when the kernel cannot make VLAN devices at all.
   */
  private async ensureSub(sub: string): Promise<boolean> {
    if (await linkExists(sub)) {
      await checkVlanDevice(sub, this.spec.interface, this.spec.vid);
      await ip(['link', 'set', 'dev', sub, 'addrgenmode', 'none']).catch(() => {});
      return true;
    }
    try {
      await ip(['link', 'add', 'link', this.spec.interface, 'name', sub, 'type', 'vlan', 'id', String(this.spec.vid)]);
    } catch (err) {
      if (err instanceof IpCommandError && /unknown device type|not supported/i.test(err.stderr)) return false;
      throw err;
    }
    this.createdSub = true;
    await ip(['link', 'set', 'dev', sub, 'addrgenmode', 'none']);
    return true;
  }

  private fromLan(frames: Buffer[]): void {
    const now = performance.now();
    this.ctx.counters.inc(`${P}rx_frames_total`, frames.length);
    for (const raw of frames) {
      let f = raw;
      if (this.trunk) {
        // Every VLAN of the trunk (and its untagged traffic) reaches the TAP: keep ours.
        if (vlanIdOf(raw) !== this.spec.vid) {
          this.ctx.counters.inc(`${P}rx_other_vlan_total`);
          continue;
        }
        f = stripVlanTag(raw);
      }
      if (f.length < 14) continue;
      const src = f.readUIntBE(6, 6);
      if (!isGroupMac(src) && src !== 0) this.learn(src, now);
      try {
        this.onFrame(f);
      } catch {
        this.ctx.counters.inc(`${P}rx_handler_errors_total`);
      }
    }
  }

  private learn(mac: number, now: number): void {
    if (this.lanMacs.has(mac)) {
      this.lanMacs.set(mac, now);
      return;
    }
    if (this.lanMacs.size >= MAX_LAN_MACS) return void this.ctx.counters.inc(`${P}macs_not_learnt_total`);
    this.lanMacs.set(mac, now);
    this.ctx.counters.inc(`${P}macs_learnt_total`);
    this.ctx.attach(this.vnet, mac);
  }

  private age(): void {
    const t = performance.now();
    for (const [mac, seen] of this.lanMacs) {
      if (t - seen < LAN_MAC_AGE_MS) continue;
      this.lanMacs.delete(mac);
      this.ctx.detach(this.vnet, mac);
    }
  }

  owns(mac: number): boolean {
    return this.lanMacs.has(mac);
  }

  macs(): number[] {
    return [...this.lanMacs.keys()];
  }

  /** Attaches every learnt MAC again (after the VARP engine was rebuilt). */
  announceAll(): void {
    for (const mac of this.lanMacs.keys()) this.ctx.attach(this.vnet, mac);
  }

  deliver(frame: Buffer): void {
    if (this.fd < 0 || !this.addon) return void this.ctx.counters.inc(`${P}tx_drops_total`);
    try {
      if (this.addon.write(this.fd, this.trunk ? addVlanTag(frame, this.spec.vid) : frame, false)) this.ctx.counters.inc(`${P}tx_frames_total`);
      else this.ctx.counters.inc(`${P}tx_drops_total`);
    } catch {
      this.ctx.counters.inc(`${P}tx_drops_total`);
    }
  }

  async stop(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
    for (const mac of this.lanMacs.keys()) this.ctx.detach(this.vnet, mac);
    this.lanMacs.clear();
    await this.teardown();
    this.ctx.logger.info('VLAN interface down', { vnet: this.vnet, interface: this.spec.interface, vid: this.spec.vid });
  }

  private async teardown(): Promise<void> {
    closeReader(this.addon, this.reader, this.fd);
    this.reader = undefined;
    this.fd = -1;
    const warn = (err: Error) => this.ctx.logger.warn('VLAN interface cleanup failed', { vnet: this.vnet, error: err.message });
    if (this.createdSub) await deleteLink(this.names.sub).catch(warn);
    this.createdSub = false;
    // Deleting the bridge also releases IF in trunk mode.
    await deleteLink(this.names.bridge).catch(warn);
  }
}
