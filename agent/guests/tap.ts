// TAP guests: a real kernel network stack on the far side of a TAP device.
//
// Over 300 lines: the three shapes share the reader, the write batching and
// the teardown.
//
// Three shapes, chosen by the VIF's `guest.netns` and the host:
// - netns guest: the agent creates the TAP, keeps its descriptor (the "wire"
//   side) and moves the network device into the namespace, where it gets the
//   VIF's MAC, address and MTU. The namespace's kernel is the guest.
// - netns guest on a veth pair, where the kernel fast path may run
//   (agent/bpf/, GuestContext.veth) and TAP offloads are on: the same device
//   in the namespace, but the end of a veth pair whose other end stays in the
//   agent's namespace; the agent exchanges frames on that host end through an
//   AF_PACKET socket as for a VM, and the fast path's programs sit there too
//   (a TAP whose descriptor the agent holds could not take a redirect).
// - VM guest (no netns): the agent creates a persistent TAP in the host
//   namespace, lets go of its descriptor so a hypervisor can attach to it
//   (qemu `-netdev tap,ifname=NAME,script=no,downscript=no,vnet_hdr=on`),
//   brings the host side up without addresses and exchanges frames with it
//   through an AF_PACKET socket bound to the device. A TAP has exactly one
//   descriptor side, so the agent cannot hold it while the VM does. The
//   socket carries the virtio-net header (PACKET_VNET_HDR): a VM attached
//   with vnet_hdr=on sends checksum-offloaded and GSO frames, which the
//   reader completes and segments, and runs of TCP segments go to it as one
//   GSO frame (the kernel segments them itself for a VM attached without the
//   header).
import { agentConfig } from '../../config/index.ts';
import { createHash, randomBytes } from 'node:crypto';
import { loadTapAddon, type NativeError, type ReaderHandle, type TapAddon } from '../native/index.ts';
import { isIfname, isNetnsName } from '../../contract/fields.ts';
import { GUEST_MTU_DEFAULT, IFNAME_MAX_CHARS, STATE_MTU_MAX, STATE_MTU_MIN } from '../../contract/limits.ts';
import { configureLink, createVeth, deleteLink, deleteNetns, ensureNetns, linkExists, moveLinkToNetns, swapVethIn, vethHostIfname } from './netns.ts';
import type { GuestContext, GuestDevice, GuestPort, VifSpec } from './types.ts';

/** Frames handed to the kernel in one writeBatch; also the read batch. */
const BATCH = 64;
const ETH_HEADER = 14;
/**
 * TAP guests use the virtio-net header: the guest kernel hands over 64 KiB
 * TCP segments and partial checksums (segmented and completed in the addon),
 * and runs of segments we deliver go in as one GSO frame. Set
 * SOFTUDC_TAP_OFFLOAD=0 to exchange plain frames only.
 */
/** TUNSETIFF replaces %d with the first free number. */
const TEMP_IFNAME = 'sdnew%d';

/** A valid, stable interface name for a VIF id ("web-1/eth0" → "sdweb-1-e3f2a1"). */
export function tapIfname(vifId: string): string {
  const clean = vifId.replace(/[^A-Za-z0-9_-]/g, '-');
  const plain = `sd${clean}`;
  if (clean === vifId && plain.length <= IFNAME_MAX_CHARS) return plain;
  // Altered or too long: keep a readable stem and make it unique with a hash.
  const hash = createHash('sha256').update(vifId).digest('hex').slice(0, 5);
  return `sd${clean.slice(0, IFNAME_MAX_CHARS - 2 - hash.length)}${hash}`;
}

interface TapGuestSpec {
  ifname: string;
  netns?: string;
}

function guestSpec(vif: VifSpec): TapGuestSpec {
  const g = vif.guest as { kind: string; ifname?: unknown; netns?: unknown };
  if (g.kind !== 'tap') throw new Error(`vifs[${vif.id}].guest.kind: expected "tap", got ${JSON.stringify(g.kind)}`);
  if (g.ifname !== undefined && (typeof g.ifname !== 'string' || !isIfname(g.ifname))) {
    throw new Error(`vifs[${vif.id}].guest.ifname: must be 1-${IFNAME_MAX_CHARS} characters of A-Z a-z 0-9 _ . -`);
  }
  if (g.netns !== undefined && (typeof g.netns !== 'string' || !isNetnsName(g.netns))) {
    throw new Error(`vifs[${vif.id}].guest.netns: must be 1-64 characters of A-Z a-z 0-9 _ . -`);
  }
  return { ifname: (g.ifname as string | undefined) ?? tapIfname(vif.id), netns: g.netns as string | undefined };
}

function mtuOf(vif: VifSpec, ctx: GuestContext): number {
  const m = (vif as { mtu?: unknown }).mtu ?? ctx.mtu;
  return typeof m === 'number' && Number.isInteger(m) && m >= STATE_MTU_MIN && m <= STATE_MTU_MAX ? m : GUEST_MTU_DEFAULT;
}

class TapGuest implements GuestPort {
  readonly id: string;
  get device(): GuestDevice {
    return { ifname: this.spec.ifname, netns: this.spec.netns ?? null, ...(this.hostEnd ? { host: this.hostEnd } : {}) };
  }

  get packetFd(): number {
    return this.spec.netns && !this.hostEnd ? -1 : this.fd;
  }

  onFrame: (frame: Buffer) => void = () => {};
  private vif: VifSpec;
  private spec: TapGuestSpec;
  private addon: TapAddon | undefined;
  private fd = -1;
  private reader: ReaderHandle | undefined;
  private createdNetns = false;
  private createdLink = false; // VM mode: a persistent TAP we made and must delete
  private hostEnd: string | null = null; // veth shape: the pair's end in the agent's namespace
  private running = false;
  private vnetHdr = false;
  private queue: Buffer[] = [];
  private flushScheduled = false;

  constructor(
    vif: VifSpec,
    private readonly ctx: GuestContext,
  ) {
    this.id = vif.id;
    this.vif = vif;
    this.spec = guestSpec(vif); // validate at creation: a bad state file fails early
  }

  async start(): Promise<void> {
    if (this.running) return;
    try {
      this.addon = loadTapAddon();
      if (this.spec.netns && this.ctx.veth && agentConfig().SOFTUDC_TAP_OFFLOAD) await this.startVeth(this.addon, this.spec.netns);
      else if (this.spec.netns) await this.startNetns(this.addon, this.spec.netns);
      else await this.startHost(this.addon);
    } catch (err) {
      await this.teardown().catch(() => {});
      const e = err as NativeError;
      throw Object.assign(new Error(`vifs[${this.id}].guest: cannot attach TAP ${this.spec.ifname}: ${e.message}`), { code: e.code, cause: err });
    }
    this.running = true;
    this.ctx.logger.info('tap guest up', { vif: this.id, ifname: this.spec.ifname, netns: this.spec.netns ?? null, veth: this.hostEnd });
  }

  private async startNetns(addon: TapAddon, netns: string): Promise<void> {
    this.createdNetns = await ensureNetns(netns);
    // A device of that name in a namespace we did not just create (the
    // previous host's TAP during a migration, or an operator's) would make
    // the rename fail.
    if (!this.createdNetns) await deleteLink(this.spec.ifname, netns);
    // The device is born in the agent's namespace, where the guest's name
    // (say eth0) may be taken: let the kernel pick a free name, then rename
    // it inside the guest namespace.
    const offload = agentConfig().SOFTUDC_TAP_OFFLOAD;
    const t = addon.openTap(TEMP_IFNAME, offload, false);
    this.fd = t.fd;
    this.vnetHdr = offload;
    await moveLinkToNetns(t.ifname, netns);
    await configureLink({ ifname: this.spec.ifname, renameFrom: t.ifname, netns, mac: this.vif.mac, mtu: mtuOf(this.vif, this.ctx), cidr: this.vif.ip });
    this.startReading(addon);
  }

  private async startVeth(addon: TapAddon, netns: string): Promise<void> {
    this.createdNetns = await ensureNetns(netns);
    const host = vethHostIfname(netns, this.spec.ifname);
    // Born under a name of its own: a device named like the guest's may still be there (the previous host's, during a migration).
    const temp = `svt${randomBytes(5).toString('hex')}`;
    await createVeth(host, temp, netns, mtuOf(this.vif, this.ctx));
    this.hostEnd = host;
    // The guest's kernel hands over GSO super-packets and partial checksums: the socket carries the virtio-net header.
    this.fd = addon.openPacket(host, true);
    this.vnetHdr = true;
    this.startReading(addon);
    // Ready on the agent's side: only now does the guest's device change.
    const replace = !this.createdNetns && (await linkExists(this.spec.ifname, netns));
    await swapVethIn({ netns, temp, ifname: this.spec.ifname, mac: this.vif.mac, cidr: this.vif.ip, replace });
  }

  private async startHost(addon: TapAddon): Promise<void> {
    if (!(await linkExists(this.spec.ifname))) {
      const t = addon.openTap(this.spec.ifname, false, true);
      this.createdLink = true;
      addon.closeFd(t.fd); // persistent: the device stays for the VM to attach
    }
    // The host side carries no addresses of its own, IPv4 or IPv6.
    await configureLink({ ifname: this.spec.ifname, mtu: mtuOf(this.vif, this.ctx), noIpv6: true });
    const offload = agentConfig().SOFTUDC_TAP_OFFLOAD;
    this.fd = addon.openPacket(this.spec.ifname, offload);
    this.vnetHdr = offload;
    this.startReading(addon);
  }

  private startReading(addon: TapAddon): void {
    this.reader = addon.startReader(
      this.fd,
      (frames, dropped, overruns) => {
        if (dropped > 0) this.ctx.counters.inc('softudc_tap_rx_malformed_total', dropped);
        // The kernel dropped these before the agent read them (receive buffer full).
        if (overruns > 0) this.ctx.counters.inc('softudc_tap_rx_socket_drops_total', overruns);
        this.fromGuest(frames);
      },
      (err) => {
        // The device went away under us (namespace deleted, link removed).
        this.ctx.counters.inc('softudc_tap_read_errors_total');
        this.ctx.logger.error('tap guest read failed', { vif: this.id, ifname: this.spec.ifname, code: err.code });
        this.reader = undefined;
        this.fd = -1;
      },
      BATCH,
      this.vnetHdr,
      this.ctx.headroom,
    );
  }

  private fromGuest(frames: Buffer[]): void {
    this.ctx.counters.inc('softudc_tap_rx_frames_total', frames.length);
    for (const frame of frames) {
      if (frame.length < ETH_HEADER) {
        this.ctx.counters.inc('softudc_tap_rx_runts_total');
        continue;
      }
      try {
        this.onFrame(frame);
      } catch (err) {
        // Never let one frame's handling break the reader.
        this.ctx.counters.inc('softudc_tap_rx_handler_errors_total');
        this.ctx.logger.warn('frame handler threw', { vif: this.id, error: (err as Error).message });
      }
    }
  }

  deliver(frame: Buffer): void {
    if (this.fd < 0 || !this.addon) {
      this.ctx.counters.inc('softudc_tap_tx_drops_total');
      return;
    }
    this.queue.push(frame);
    // Frames delivered during one event-loop turn go to the kernel together
    // after the poll phase; a full batch goes at once.
    if (this.queue.length >= BATCH) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    const frames = this.queue;
    if (frames.length === 0) return;
    this.queue = [];
    if (this.fd < 0 || !this.addon) {
      this.ctx.counters.inc('softudc_tap_tx_drops_total', frames.length);
      return;
    }
    try {
      const sent =
        frames.length === 1 ? (this.addon.write(this.fd, frames[0]!, this.vnetHdr) ? 1 : 0) : this.addon.writeBatch(this.fd, frames, this.vnetHdr);
      this.ctx.counters.inc('softudc_tap_tx_frames_total', sent);
      if (sent < frames.length) this.ctx.counters.inc('softudc_tap_tx_drops_total', frames.length - sent);
    } catch (err) {
      this.ctx.counters.inc('softudc_tap_tx_drops_total', frames.length);
      this.ctx.counters.inc('softudc_tap_tx_errors_total');
      this.ctx.logger.warn('tap write failed', { vif: this.id, code: (err as NativeError).code });
    }
  }

  async update(vif: VifSpec): Promise<void> {
    const next = guestSpec(vif);
    const prev = this.vif;
    this.vif = vif;
    if (!this.running || next.ifname !== this.spec.ifname || next.netns !== this.spec.netns) {
      // A different device or namespace is a new attachment.
      const onFrame = this.onFrame;
      await this.stop();
      this.spec = next;
      this.onFrame = onFrame;
      await this.start();
      return;
    }
    if (!this.spec.netns) return; // a VM's MAC and address live inside the VM
    const mtu = mtuOf(vif, this.ctx);
    if (vif.mac === prev.mac && vif.ip === prev.ip && mtu === mtuOf(prev, this.ctx)) return; // e.g. only the version moved
    await configureLink({
      ifname: this.spec.ifname,
      netns: this.spec.netns,
      mac: vif.mac !== prev.mac ? vif.mac : undefined,
      mtu: mtu !== mtuOf(prev, this.ctx) ? mtu : undefined,
      cidr: vif.ip !== prev.ip ? vif.ip : undefined,
      replaceAddresses: true,
    });
    if (this.hostEnd && mtu !== mtuOf(prev, this.ctx)) await configureLink({ ifname: this.hostEnd, mtu });
  }

  async stop(): Promise<void> {
    if (this.queue.length > 0) this.flush();
    this.running = false;
    await this.teardown();
    this.ctx.logger.info('tap guest down', { vif: this.id, ifname: this.spec.ifname });
  }

  /** Releases whatever start() got to; safe after a partial start. */
  private async teardown(): Promise<void> {
    const addon = this.addon;
    if (this.reader && addon) addon.stopReader(this.reader); // closes fd; a plain TAP disappears with it
    else if (this.fd >= 0 && addon) addon.closeFd(this.fd);
    this.reader = undefined;
    this.fd = -1;
    this.queue = [];
    if (this.hostEnd) {
      // Both ends go together.
      await deleteLink(this.hostEnd).catch((err: Error) => this.ctx.logger.warn('veth delete failed', { vif: this.id, error: err.message }));
      this.hostEnd = null;
    }
    if (this.createdLink) {
      await deleteLink(this.spec.ifname).catch((err: Error) => this.ctx.logger.warn('tap delete failed', { vif: this.id, error: err.message }));
      this.createdLink = false;
    }
    if (this.createdNetns && this.spec.netns) {
      await deleteNetns(this.spec.netns).catch((err: Error) => this.ctx.logger.warn('netns delete failed', { vif: this.id, error: err.message }));
      this.createdNetns = false;
    }
  }
}

export function createTapGuest(vif: VifSpec, ctx: GuestContext): GuestPort {
  return new TapGuest(vif, ctx);
}
