// The agent's receive path: every underlay datagram is admitted (or counted
// as dropped, agent/underlay/admission.ts), offered to the vnetd relay role,
// and otherwise dispatched by kind to VARP or the switch (agent/daemon/dispatch.ts).
// It also owns the relay's configuration from the desired state.
import type { Counters } from '../metrics.ts';
import type { Logger } from '../log.ts';
import { Dispatcher, type DispatchTarget } from './dispatch.ts';
import { Admission } from '../underlay/admission.ts';
import type { Remote, UdpUnderlay } from '../underlay/udp.ts';
import type { Varp } from '../varp/index.ts';
import type { Switch } from '../switch/index.ts';
import type { SealedVnets } from '../security/index.ts';
import { Relay } from '../relay/index.ts';
import type { AgentState } from '../state.ts';
import { FRAME_FLAG_SEALED, FRAME_FLAGS_OFFSET, FRAME_HEADER_LEN, FRAME_VNET_OFFSET, parseIp } from '../wire/index.ts';

/** The underlay and VARP engine datagrams are received on and handed to. */
export interface ReceiveCore {
  underlay: UdpUnderlay;
  varp: Varp;
  key: Buffer | undefined;
}

export interface ReceiveDeps {
  counters: Counters;
  logger: Logger;
  sw: Switch;
  seals: SealedVnets;
  /** The running core (null while the agent is stopped or rebuilding). */
  core: () => ReceiveCore | null;
}

export class Receive {
  /** Who the underlay takes datagrams from (docs/wire.md "Admission"), from the state being applied. */
  readonly admission: Admission;
  private readonly dispatcher: Dispatcher;
  private readonly relay: Relay;
  private lanPeers: readonly string[] = [];

  constructor(private readonly d: ReceiveDeps) {
    this.admission = new Admission(d.counters);
    this.dispatcher = new Dispatcher(d.counters, d.logger);
    this.relay = this.createRelay();
  }

  /** The datagram handler for a new underlay: admission, then the dispatcher (the relay is its first branch). */
  listener(target: Omit<DispatchTarget, 'relay'>): (buf: Buffer, from: Remote) => void {
    const t: DispatchTarget = { ...target, relay: this.relay };
    return (buf, from) => {
      if (this.admission.admit(from.address)) this.dispatcher.handle(t, buf, from);
    };
  }

  /** A datagram this host floods: the relay forwards it to its peers when it serves. */
  fromSelf(buf: Buffer): void {
    this.relay.fromSelf(buf);
  }

  stop(): void {
    this.relay.stop();
  }

  /** Configures the relay role from `s` (off without a running core or `relay.enabled`). */
  configureRelay(s: AgentState): void {
    this.lanPeers = s.underlay.peers;
    const core = this.d.core();
    if (!core || !s.relay || !s.relay.enabled) return this.relay.configure(null);
    const v = core.varp.config;
    const own = parseIp(s.underlay.address);
    this.relay.configure({
      peers: s.relay.peers.map(parseIp).filter((p) => p !== own),
      proxy: s.relay.proxy,
      ownCoa: own,
      port: s.underlay.port,
      key: core.key,
      lifetimeMs: v.lifetimeMs,
      requestCount: v.requestCount,
      requestIntervalMs: v.requestIntervalMs,
      queueLimit: v.queueLimit,
    });
  }

  /** The vnetd relay role, wired to this agent's underlay, VARP engine and switch. */
  private createRelay(): Relay {
    const { sw, seals } = this.d;
    return new Relay(
      {
        sendTo: (buf, coa, port) => this.d.core()?.underlay.sendToIp(buf, coa, port),
        floodLan: (buf, exclude) => {
          const u = this.d.core()?.underlay;
          if (!u) return;
          if (u.multicast !== null) return u.sendTo(buf, u.multicast);
          for (const p of this.lanPeers) if (!exclude.has(parseIp(p))) u.sendTo(buf, p);
        },
        handleVarp: (msg, from) => this.d.core()?.varp.handle(msg, from),
        handleFrame: (msg, coa, datagram) => sw.fromUnderlay(msg, coa, datagram),
        carries: (vnet) => sw.hasVnet(vnet),
        local: (vnet, mac) => this.d.core()?.varp.local(vnet, mac),
        localByIp: (vnet, ip) => this.d.core()?.varp.localByIp(vnet, ip),
        frameDestination: (d) => {
          if (!(d.readUInt16BE(FRAME_FLAGS_OFFSET) & FRAME_FLAG_SEALED)) return d.readUIntBE(FRAME_HEADER_LEN, 6);
          return seals.get(d.readUInt32BE(FRAME_VNET_OFFSET))?.peekDestination(d) ?? null;
        },
      },
      this.d.counters,
      this.d.logger.child({ role: 'vnetd' }),
    );
  }
}
