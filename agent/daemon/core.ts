// The agent's underlay socket and VARP engine, rebuilt when the state
// changes their address, port, VARP settings or key, and adjusted in place
// (peers, multicast group) otherwise.
import type { Counters } from '../metrics.ts';
import type { Logger } from '../log.ts';
import { BugReports } from '../bug-report.ts';
import type { Switch } from '../switch/index.ts';
import { UdpUnderlay } from '../underlay/udp.ts';
import { Varp, type VarpConfig, type VarpIo } from '../varp/index.ts';
import { decodeVarpKey, StateError, type AgentState } from '../state.ts';
import { parseIp } from '../wire/index.ts';
import type { SealedVnets } from '../security/index.ts';
import type { Receive } from './receive.ts';
import type { Vifs } from './vifs.ts';

export interface Core {
  underlay: UdpUnderlay;
  varp: Varp;
  key: Buffer | undefined;
  signature: string;
}

export interface CoreDeps {
  counters: Counters;
  logger: Logger;
  sw: Switch;
  seals: SealedVnets;
  receive: Receive;
  vifs: Vifs;
  /** The VARP cache changed (the kernel fast path follows it). */
  varpChanged?: () => void;
}

const VARP_FIELDS = ['lifetimeMs', 'requestCount', 'requestIntervalMs', 'queueLimit', 'failedHoldMs'] as const;

export class CoreManager {
  current: Core | null = null;

  constructor(private readonly d: CoreDeps) {}

  /** Builds or adjusts the underlay and VARP; true when they were rebuilt (VIFs must attach again). */
  async reconcile(s: AgentState): Promise<boolean> {
    const { counters, logger, receive } = this.d;
    const varpPartial: Partial<VarpConfig> = {};
    for (const f of VARP_FIELDS) if (s.varp?.[f] !== undefined) varpPartial[f] = s.varp[f];
    const signature = JSON.stringify([s.underlay.address, s.underlay.port, varpPartial, s.varp?.key ?? null]);
    const old = this.current;
    if (old && old.signature === signature) {
      old.underlay.setPeers(s.underlay.peers);
      await old.underlay.setMulticast(s.underlay.multicast);
      return false;
    }
    const key = s.varp?.key ? decodeVarpKey(s.varp.key) : undefined;
    const underlay = new UdpUnderlay({ ...s.underlay, counters, logger });
    const bugs = new BugReports(logger);
    const io: VarpIo = {
      ownCoa: parseIp(s.underlay.address),
      port: s.underlay.port,
      sendFlood: (m) => {
        underlay.flood(m);
        receive.fromSelf(m);
      },
      sendTo: (m, a, p) => underlay.sendToIp(m, a, p),
      admits: (coa) => receive.admission.admitsCoa(coa),
      reportBug: (where, err) => bugs.report(where, err),
      // The switch holds the frames waiting for a resolution: VARP tells it what became of each.
      resolved: (vnet, mac, route) => this.d.sw.held.release(vnet, mac, route),
      unresolved: (vnet, mac, reason) => this.d.sw.held.discard(vnet, mac, reason),
      changed: () => this.d.varpChanged?.(),
      moved: (vnet, mac, version) => this.d.vifs.moved(vnet, mac, version),
    };
    let varp: Varp;
    try {
      varp = new Varp(io, counters, { ...varpPartial, key });
    } catch (err) {
      throw new StateError([{ field: (err as Error).message.split(':')[0] ?? 'varp', message: (err as Error).message }]);
    }
    // Same address and port (only VARP settings changed): the socket is
    // exclusive, so the old core must let go of it before the new one binds.
    const sameSocket = old !== null && old.underlay.address === s.underlay.address && old.underlay.port === s.underlay.port;
    if (old && sameSocket) await this.retire(old);
    try {
      await underlay.start();
    } catch (err) {
      if (old && sameSocket) this.current = null;
      throw new StateError([{ field: 'underlay.address', message: (err as Error).message }]);
    }
    this.d.sw.held.limits = { queueLimit: varp.config.queueLimit, maxQueuedPerVnet: varp.config.maxQueuedPerVnet };
    varp.start();
    const target = { varp, sw: this.d.sw, varpKey: key, ownAddress: s.underlay.address, ownPort: s.underlay.port };
    underlay.on('message', receive.listener(target));
    // Only now let go of an old core on another address: a new one that cannot
    // bind keeps the old running.
    if (old && !sameSocket) await this.retire(old);
    this.current = { underlay, varp, key, signature };
    this.d.seals.setSender(io.ownCoa);
    logger.info('underlay up', {
      address: s.underlay.address,
      port: s.underlay.port,
      multicast: s.underlay.multicast,
      joined: underlay.joined,
      io: underlay.io,
      ...underlay.offloads,
    });
    return old !== null;
  }

  /** Stops the running core (the agent is stopping). */
  async stop(): Promise<void> {
    const core = this.current;
    this.current = null;
    if (core) {
      core.varp.stop();
      await core.underlay.stop();
    }
  }

  private async retire(old: Core): Promise<void> {
    this.d.vifs.detachAll(old.varp);
    old.varp.stop();
    await old.underlay.stop();
  }
}
