// The per-vnet virtual switches of one host. Frames from local guests pass
// port security, then go straight to a co-located port (the short path of
// seed 004, never touching the underlay), to the COA VARP resolved (held in
// held.ts while it resolves: a frame leaves the switch once), or, for
// group destinations, to every other local port of the vnet plus the group or
// the vnet's peers (head-end replication, seed 003 claim 20). The vnet id of a
// FRAME is always the sending port's (spec "FRAME"); a FRAME from the underlay
// reaches only ports of its own vnet. MACs are numbers: Map keys without
// allocation on the packet path. A port may be connected inactive (a live
// migration's destination, incoming.ts): outside its vnet until its guest's
// first frame. The file is over 300 lines: the switching of one frame reads
// best in one place.
import {
  ETH_HEADER_LEN,
  ETHERTYPE_ARP,
  FRAME_FLAG_SEALED,
  FRAME_FLAGS_OFFSET,
  FRAME_HEADER_LEN,
  FRAME_VNET_OFFSET,
  isGroupMac,
  writeFrameHeader,
  type FrameMessage,
} from '../wire/index.ts';
import type { Counters } from '../metrics.ts';
import { Headroom } from '../native/headroom.ts';
import { suppressedArpReply } from './arp.ts';
import { rebuild, type Sealer } from './attachments.ts';
import { HeldFrames } from './held.ts';
import { checkPortSecurity } from './security.ts';
import { incomingCheck, type Activation } from './incoming.ts';
import { C, securityCounter, txDropCounter, type FrameDropReason, type Security, type SwitchIo, type SwitchPort, type Vnet, type VnetConfig } from './types.ts';

export type { Activation } from './incoming.ts';
export type { FrameDropReason, PortFilter, Sealer, Security, SwitchIo, SwitchPort, SwitchVarp, Uplink, VnetConfig } from './types.ts';

/** Services answered next to the port (agent/dhcp/services.ts): true when they took the frame. */
export interface PortServices {
  fromGuest(port: SwitchPort, frame: Buffer): boolean;
}

export class Switch {
  private readonly vnets = new Map<number, Vnet>();
  private readonly ports = new Map<string, SwitchPort>();
  /** Ports connected but not active (incoming.ts), by id: not in their vnet's MAC table. */
  private readonly inactive = new Map<string, SwitchPort>();
  /** Frames waiting for VARP to resolve their destination; VARP's io.resolved/unresolved release or drop them. */
  readonly held: HeldFrames;
  /** DHCP and the vnet resolvers; they see a guest's frames before port security. */
  services: PortServices | null = null;

  constructor(
    private readonly io: SwitchIo,
    private readonly counters: Counters,
    /** The reader batch owner its TAP readers share (agent/native/headroom.ts): their frames are sent from their headroom. */
    readonly headroom: Headroom = new Headroom(),
  ) {
    this.held = new HeldFrames(counters, (_vnet, route, frames) => {
      for (const f of frames) {
        const out = this.outbound(f);
        if (out !== null) this.io.sendTo(out, route.coa, route.port);
      }
    });
  }

  /** Adds a vnet or changes its security and peers in place (its ports stay). */
  upsertVnet(cfg: VnetConfig): void {
    const v = this.vnets.get(cfg.id);
    if (v) {
      v.security = cfg.security;
      v.peers = cfg.peers;
      v.sealer = cfg.sealer ?? null;
      v.uplink = cfg.uplink ?? null;
      return;
    }
    const header = Buffer.alloc(FRAME_HEADER_LEN);
    writeFrameHeader(header, 0, cfg.id, 0);
    this.vnets.set(cfg.id, { id: cfg.id, security: cfg.security, peers: cfg.peers, sealer: cfg.sealer ?? null, uplink: cfg.uplink ?? null, ports: new Map(), header });
  }

  /** Removes a vnet; its ports must have been removed first. */
  removeVnet(id: number): void {
    const v = this.vnets.get(id);
    if (!v) return;
    for (const p of v.ports.values()) this.ports.delete(p.id);
    this.vnets.delete(id);
  }

  hasVnet(id: number): boolean {
    return this.vnets.has(id);
  }

  /** Connects a port: its guest's frames enter the switch (through its limit), the one owner of onFrame. Throws on an unknown vnet or a MAC in use. */
  addPort(port: SwitchPort): void {
    const v = this.vnets.get(port.vnet);
    if (!v) throw new Error(`vnet ${port.vnet} is not configured`);
    if (this.ports.has(port.id)) throw new Error(`port ${port.id} already exists`);
    if (v.ports.has(port.mac)) throw new Error(`MAC already bound on vnet ${port.vnet}`);
    v.ports.set(port.mac, port);
    this.ports.set(port.id, port);
    const enter = (frame: Buffer) => this.fromGuest(port, frame);
    port.guest.onFrame = port.limit ? port.limit.wrap(enter) : enter;
  }

  /**
   * Connects a port inactive (a live migration's destination, incoming.ts):
   * its vnet does not know its MAC (frames for it go where VARP says), and its
   * guest's frames are dropped and counted, until the first one with the
   * port's own MAC as source: that frame activates it (`activation.activated`
   * runs: the VIF announces itself) and is then switched as usual.
   */
  addInactivePort(port: SwitchPort, activation: Activation): void {
    const v = this.vnets.get(port.vnet);
    if (!v) throw new Error(`vnet ${port.vnet} is not configured`);
    if (this.ports.has(port.id) || this.inactive.has(port.id)) throw new Error(`port ${port.id} already exists`);
    this.inactive.set(port.id, port);
    port.guest.onFrame = (frame) => {
      const bad = incomingCheck(port, frame);
      if (bad !== null) return void this.counters.inc(bad);
      this.inactive.delete(port.id);
      try {
        this.addPort(port); // throws when another port took the MAC meanwhile
      } catch {
        this.inactive.set(port.id, port);
        return void this.counters.inc(C.inactiveDropped.mac_in_use);
      }
      this.counters.inc(C.activations);
      activation.activated(port);
      port.guest.onFrame(frame);
    };
  }

  /** Activates an inactive port without waiting for its guest (the state no longer says incoming). */
  activatePort(id: string): void {
    const p = this.inactive.get(id);
    if (!p) return;
    this.inactive.delete(id);
    this.addPort(p);
  }

  /** True while the port is connected but not active. */
  isInactive(id: string): boolean {
    return this.inactive.has(id);
  }

  /**
   * Takes an active port out of its vnet again, as inactive, with no way back
   * but a new addInactivePort or addPort (the VIF moved to another host: its
   * guest here is a paused VM's leftover). Frames for its MAC go where VARP says.
   */
  deactivatePort(id: string): void {
    const p = this.ports.get(id);
    if (!p) return;
    this.removePort(id);
    this.inactive.set(id, p);
    p.guest.onFrame = () => void this.counters.inc(C.inactiveDropped.moved);
  }

  removePort(id: string): void {
    const q = this.inactive.get(id);
    if (q) {
      this.inactive.delete(id);
      q.guest.onFrame = () => {};
    }
    const p = this.ports.get(id);
    if (!p) return;
    this.ports.delete(id);
    const v = this.vnets.get(p.vnet);
    if (v?.ports.get(p.mac) === p) v.ports.delete(p.mac);
    // Frames a stopping guest still emits go nowhere.
    p.guest.onFrame = () => {};
  }

  /** Rebinds a port's IPv4 address in place (same vnet and MAC). */
  setPortIp(id: string, ip: number): void {
    const p = this.port(id);
    if (p) p.ip = ip;
  }

  /** A port by id, active or not. */
  port(id: string): SwitchPort | undefined {
    return this.ports.get(id) ?? this.inactive.get(id);
  }

  portCount(): number {
    return this.ports.size;
  }

  /** Every active port (the kernel fast path marks their MACs local). */
  portList(): SwitchPort[] {
    return [...this.ports.values()];
  }

  vnetView(): { id: number; security: Security; peers: readonly string[] | null; ports: number }[] {
    return [...this.vnets.values()].map((v) => ({ id: v.id, security: v.security, peers: v.peers ?? null, ports: v.ports.size }));
  }

  /** A frame from a local guest. Never throws for any content. */
  fromGuest(port: SwitchPort, frame: Buffer): void {
    const v = this.vnets.get(port.vnet);
    if (!v || v.ports.get(port.mac) !== port) {
      this.counters.inc(C.noVnet);
      return;
    }
    if (this.services !== null && port.forwarder !== true && this.services.fromGuest(port, frame)) return;
    const bad = checkPortSecurity(frame, port);
    if (bad !== null) {
      this.counters.inc(securityCounter(bad));
      return;
    }
    if (port.filter && !port.filter.egress(frame)) return; // security groups (agent/sg) count their drops
    this.forward(v, port, frame);
  }

  /**
   * A frame from the vnet's uplink (its VLAN interface). The LAN side owns
   * many MACs, so there is no port security beyond refusing a VIF's MAC as
   * source; a frame for a MAC also on the LAN is the LAN's own business.
   */
  fromUplink(vnet: number, frame: Buffer): void {
    const v = this.vnets.get(vnet);
    if (!v || v.uplink === null) return void this.counters.inc(C.noVnet);
    if (frame.length < ETH_HEADER_LEN) return void this.counters.inc(C.uplinkDropped.runt);
    const src = frame.readUIntBE(6, 6);
    if (isGroupMac(src) || v.ports.has(src)) return void this.counters.inc(C.uplinkDropped.src_mac);
    const dst = frame.readUIntBE(0, 6);
    if (!isGroupMac(dst) && v.uplink.owns(dst)) return void this.counters.inc(C.uplinkDropped.lan_local);
    this.forward(v, null, frame);
  }

  /** Switching of a frame that passed its entry checks; `port` is null for a frame from the uplink. */
  private forward(v: Vnet, port: SwitchPort | null, frame: Buffer): void {
    const dst = frame.readUIntBE(0, 6);
    if (!isGroupMac(dst)) {
      const local = v.ports.get(dst);
      if (local !== undefined) {
        if (local === port) return void this.counters.inc(C.hairpin);
        this.counters.inc(C.shortPath);
        this.deliver(local, frame);
        return;
      }
      if (port !== null && v.uplink?.owns(dst)) {
        this.counters.inc(C.toUplink);
        v.uplink.deliver(frame);
        return;
      }
      if (v.uplink?.local) return void this.counters.inc(C.queuedOrDropped);
      if (v.security !== 'none' && !v.sealer?.canSend) return void this.counters.inc(C.secure);
      const route = this.io.varp.resolve(v.id, dst);
      if (route === null || route === 'pending') {
        this.counters.inc(C.queuedOrDropped);
        // Held plain while VARP resolves (a copy, held.ts), sealed when it leaves (outbound) so sequences go out in order.
        if (route === 'pending') this.held.hold(v.id, dst, this.headroom.encapsulate(v.header, frame, true));
        return;
      }
      const out = v.sealer ? this.seal(v.sealer, frame) : this.headroom.encapsulate(v.header, frame, true);
      if (out === null) return;
      this.counters.inc(C.txUnicast);
      this.io.sendTo(out, route.coa, route.port);
      return;
    }
    if (port !== null && frame.readUInt16BE(12) === ETHERTYPE_ARP && this.suppressArp(v, port, frame)) return;
    for (const p of v.ports.values()) {
      if (p === port) continue;
      this.counters.inc(C.localFlood);
      this.deliver(p, frame);
    }
    if (port !== null && v.uplink) {
      this.counters.inc(C.toUplink);
      v.uplink.deliver(frame);
    }
    if (v.uplink?.local) return;
    if (v.security !== 'none' && !v.sealer?.canSend) return void this.counters.inc(C.secure);
    const out = v.sealer ? this.seal(v.sealer, frame) : this.headroom.encapsulate(v.header, frame, true);
    if (out === null) return;
    this.counters.inc(C.txFlood);
    this.io.flood(out, v.peers);
  }

  private seal(sealer: Sealer, frame: Buffer): Buffer | null {
    const out = sealer.seal(frame);
    if (typeof out !== 'string') return out;
    this.counters.inc(out === 'security_unavailable' ? C.secure : txDropCounter(out));
    return null;
  }

  /**
   * A FRAME datagram this switch built, as it must leave now: sealed when its
   * vnet is (frames held while VARP resolved were held plain), as is
   * otherwise. Null when it cannot be sent (counted).
   */
  private outbound(datagram: Buffer): Buffer | null {
    if (datagram.length <= FRAME_HEADER_LEN || datagram.readUInt16BE(FRAME_FLAGS_OFFSET) & FRAME_FLAG_SEALED) return datagram;
    const v = this.vnets.get(datagram.readUInt32BE(FRAME_VNET_OFFSET));
    if (v === undefined || v.security === 'none') return datagram;
    if (v.sealer === null) {
      this.counters.inc(C.secure);
      return null;
    }
    return this.seal(v.sealer, datagram.subarray(FRAME_HEADER_LEN));
  }

  /** ARP suppression (spec "VARP", arp.ts): true when the request was answered here. */
  private suppressArp(v: Vnet, from: SwitchPort, frame: Buffer): boolean {
    const reply = suppressedArpReply(v.ports.values(), from, frame, this.io.varp, this.counters);
    if (reply !== null) this.deliver(from, reply);
    return reply !== null;
  }

  /**
   * A decoded FRAME from the underlay, sent by `fromCoa`. Returns null when it
   * was delivered, else the drop reason (the caller counts it). No cross-vnet
   * delivery: only ports of `msg.vnet` are ever looked at.
   */
  fromUnderlay(msg: FrameMessage, fromCoa: number, datagram?: Buffer): FrameDropReason | null {
    const v = this.vnets.get(msg.vnet);
    if (v === undefined) return 'unknown_vnet';
    let eth = msg.ethernet; // decodeFrame guarantees at least ETH_HEADER_LEN bytes
    // A frame that authenticated and came straight from its sender may teach VARP its location.
    let learnFrom = -1;
    if (msg.flags & FRAME_FLAG_SEALED) {
      if (v.security === 'none') return 'sealed_on_open_vnet';
      if (v.sealer === null) return 'seal_no_keys';
      const opened = v.sealer.open(datagram ?? rebuild(msg));
      if (typeof opened === 'string') return opened as FrameDropReason;
      eth = opened.ethernet;
      if (opened.sender === fromCoa) learnFrom = fromCoa;
    } else if (v.security !== 'none') {
      return 'unsealed_on_secure_vnet'; // spec "SEALED frames"
    }
    if (eth.length < ETH_HEADER_LEN) return 'no_port';
    const src = eth.readUIntBE(6, 6);
    if (isGroupMac(src)) return 'src_group_mac';
    if (v.ports.has(src)) return 'src_local_mac';
    const dst = eth.readUIntBE(0, 6);
    if (isGroupMac(dst)) {
      if (v.ports.size === 0 && v.uplink === null) return 'no_port';
      if (v.uplink) {
        this.counters.inc(C.toUplink);
        v.uplink.deliver(eth);
      }
      if (learnFrom >= 0) this.io.varp.learn?.(v.id, src, learnFrom);
      for (const p of v.ports.values()) this.deliver(p, eth);
      return null;
    }
    const p = v.ports.get(dst);
    if (p === undefined) {
      if (!v.uplink?.owns(dst)) return 'no_port';
      this.counters.inc(C.toUplink);
      v.uplink.deliver(eth);
      this.io.varp.refresh(v.id, src, fromCoa);
      return null;
    }
    if (learnFrom >= 0 && this.io.varp.learn) this.io.varp.learn(v.id, src, learnFrom);
    else this.io.varp.refresh(v.id, src, fromCoa);
    this.deliver(p, eth);
    return null;
  }

  private deliver(p: SwitchPort, frame: Buffer): void {
    if (p.filter && !p.filter.ingress(frame)) return; // security groups, for local and underlay frames alike
    this.counters.inc(C.rxDelivered);
    try {
      p.guest.deliver(frame);
    } catch {
      // deliver() must not throw; a guest bug costs its frame, not the switch.
      this.counters.inc(C.deliverErrors);
    }
  }
}
