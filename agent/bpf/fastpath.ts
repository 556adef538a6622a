// The agent as the control plane of the kernel fast path (softudc.bpf.c):
// it decides which VIFs the kernel may carry, attaches the programs, and
// keeps the maps equal to what the userspace switch would decide: local
// ports from the desired state, remote MACs from the VARP cache (a VARP
// change resyncs at once; expiry and the refresh of entries the kernel saw
// used run once a second). Whatever it does not put in a map goes through
// the agent exactly as without it.
//
// Over 300 lines: the apply, the TAP attachments, the FDB sync and the
// teardown share one state (what is attached, what the maps hold).
import type { Counters } from '../metrics.ts';
import type { Logger } from '../log.ts';
import { parseIp } from '../wire/index.ts';
import { LoadedObject, deviceOf, detachFrom, ifindexOf, possibleCpus, groPairStats, setUpGroPair, tearDownGroPair, unsupportedReason } from './loader.ts';
import { FDB_LOCAL, FDB_REMOTE, FDB_TAP, FDB_VETH, cfgValue, coaKey, fdbKey, fdbValue, u32Key, vifValue, type CounterName, type FdbValue, type PeerTotals } from './maps.ts';
import { PeerDeltas, readCounters, readPeerTotals, refreshSeen } from './readers.ts';
import { NAMESPACE_TAP, fastDevice, offloadedTaps, vifReason, vnetReasons } from './eligibility.ts';
import type { DatapathMode, KernelInputs, KernelView, VifPath } from './types.ts';

export type { DatapathMode, KernelView, VifPath } from './types.ts';

/** The pin directory's name of an agent (bpffs refuses names with a dot), from which its GRO pair is named too. */
const pinInstance = (address: string, port: number) => `${address.replaceAll('.', '_')}-${port}`;

/** Outer IPv4 + UDP + FRAME header (docs/wire.md). */
const FRAME_OVERHEAD = 38;
const SYNC_MS = 1000;

interface Tap {
  ifname: string;
  ifindex: number;
  sockFd: number;
  /** A namespace guest's veth host end (the kernel hands frames to its peer), not a VM's TAP. */
  veth: boolean;
  /** An offloaded guest: a veth, or a VM's TAP attached with vnet_hdr=on (softudc.bpf.c, vif_val). */
  offload: boolean;
}

export class KernelPath {
  private obj: LoadedObject | null = null;
  private instance = '';
  private off: string | null;
  private device: { ifname: string; ifindex: number; mtu: number } | null = null;
  /** The near end of the GRO pair (loader.ts setUpGroPair), 0 without one. */
  private groIfindex = 0;
  /** What sd_cfg holds. */
  private cfg: Parameters<typeof cfgValue>[0] | null = null;
  private readonly taps = new Map<string, Tap>();
  private readonly paths = new Map<string, VifPath>();
  private fdb = new Map<string, string>();
  private peers = new Set<number>();
  private inputs: KernelInputs | null = null;
  private timer: NodeJS.Timeout | null = null;
  private pending = false;
  private chain: Promise<void> = Promise.resolve();
  private checking = false;
  private seenSince = 0n;
  /** Remote offloaded guests on a kernel path, which take GSO super-packets (readers.ts refreshSeen). */
  private readonly offloaded = new Map<string, number>();
  private readonly cpus: number;
  private readonly peerDeltas = new PeerDeltas();

  /**
   * `perPeer` takes what the kernel carried per remote host (COA as a
   * number) since the last read: the daemon adds it to the underlay's
   * per-peer counters (agent/underlay/remotes.ts addKernel).
   */
  constructor(
    readonly mode: DatapathMode,
    private readonly logger: Logger,
    private readonly counters: Counters,
    private readonly perPeer: (coa: number, d: PeerTotals) => void = () => {},
  ) {
    this.off = mode === 'userspace' ? 'SOFTUDC_DATAPATH=userspace' : unsupportedReason();
    this.cpus = this.off === null ? possibleCpus() : 1;
    this.possible = this.off === null;
    if (this.off !== null && mode !== 'userspace') this.say(this.off);
  }

  get active(): boolean {
    return this.obj !== null;
  }

  /** Whether this host may run the fast path at all: namespace guests then get a veth pair it can carry (agent/guests/tap.ts). */
  readonly possible: boolean;

  /** Said once per reason: the log line an operator looks for. */
  private said = new Set<string>();
  private say(reason: string): void {
    if (this.said.has(reason)) return;
    this.said.add(reason);
    const fields = { mode: this.mode, reason };
    if (this.mode === 'kernel') this.logger.error('kernel fast path unavailable: userspace path', fields);
    else this.logger.warn('kernel fast path off: userspace path', fields);
  }

  /** Brings the programs and maps to `i` (each apply of a desired state). Never throws: a failure turns the path off. */
  apply(i: KernelInputs): Promise<void> {
    // Serialised: the tick re-applies when a VM attaches with vnet_hdr=on or without.
    const run = this.chain.then(() => this.applyOnce(i));
    this.chain = run;
    return run;
  }

  /**
   * Takes VIFs off the kernel path before the agent starts filtering them
   * (a VIF gaining its first security group): their TAP entries and FDB
   * entries go now, so no frame bypasses the filter between the agent
   * setting it and the next apply. Serialised with apply().
   */
  withdraw(vifIds: readonly string[]): Promise<void> {
    const run = this.chain.then(async () => {
      let any = false;
      for (const id of vifIds) {
        const t = this.taps.get(id);
        if (t === undefined) continue;
        any = true;
        await this.dropTap(id, t);
        this.paths.set(id, { path: 'userspace', reason: 'security groups' });
      }
      if (any) this.syncFdb();
    });
    this.chain = run.catch(() => {});
    return run;
  }

  private async applyOnce(i: KernelInputs): Promise<void> {
    this.inputs = i;
    if (this.off !== null && this.obj === null) {
      await this.clearLeftovers(i);
      return this.allUserspace(i, this.off);
    }
    try {
      await this.applyNow(i);
    } catch (err) {
      this.off = `setting up the kernel path failed: ${(err as Error).message}`;
      this.say(this.off);
      await this.teardown();
      this.allUserspace(i, this.off);
    }
  }

  /**
   * Devices this agent does not run the kernel path on may hold a filter a
   * killed agent left (with maps nobody updates any more): taken off once
   * per device. One agent per underlay device (docs/operations.md).
   */
  private readonly cleared = new Set<string>();
  private async clearLeftovers(i: KernelInputs, except?: ReadonlySet<string>): Promise<void> {
    if (process.getuid?.() !== 0) return; // nothing can have been attached
    const devices: string[] = [];
    let underlay: string | null = null;
    if (!except) {
      const d = await deviceOf(i.state.underlay.address).catch(() => null);
      if (d && d.ifname !== 'lo') devices.push((underlay = d.ifname));
      // And the GRO pair such an agent left.
      if (!this.cleared.has('gro pair')) {
        this.cleared.add('gro pair');
        await tearDownGroPair(pinInstance(i.state.underlay.address, i.state.underlay.port));
      }
    }
    for (const v of i.vifs) {
      const dev = fastDevice(v);
      if (dev !== null) devices.push(dev);
    }
    for (const dev of devices) {
      if (this.cleared.has(dev) || except?.has(dev)) continue;
      this.cleared.add(dev);
      await detachFrom(dev, dev === underlay);
    }
  }

  private allUserspace(i: KernelInputs, reason: string): void {
    this.paths.clear();
    const vnets = vnetReasons(i);
    for (const v of i.vifs) {
      // A namespace guest on a TAP because the path is off: the path's reason is the one to give.
      const own = vifReason(v, vnets.get(v.spec.vnet));
      this.paths.set(v.spec.id, { path: 'userspace', reason: own === null || own === NAMESPACE_TAP ? `kernel path off: ${reason}` : own });
    }
  }

  private async applyNow(i: KernelInputs): Promise<void> {
    const { address, port } = i.state.underlay;
    const device = await deviceOf(address);
    if (device === null || device.ifname === 'lo') {
      const why = device === null ? `no device holds the underlay address ${address}` : 'the underlay is the loopback device';
      if (this.obj !== null) await this.teardown();
      this.say(why);
      return this.allUserspace(i, why);
    }
    const instance = pinInstance(address, port);
    if (this.obj === null || this.instance !== instance) {
      await this.teardown();
      this.obj = await LoadedObject.load(instance);
      this.instance = instance;
      this.logger.info('kernel fast path loaded', { pin: this.obj.dir, device: device.ifname });
    }
    // Set up with the object, and again when it failed or the pair has gone since (deleted by hand, say).
    if (this.groIfindex === 0 || groPairStats(instance) === null) await this.setUpPair(this.obj, instance);
    const obj = this.obj;
    const m = obj.maps;
    this.cfg = { coa: parseIp(address), port, ifindex: device.ifindex, maxFrame: device.mtu - FRAME_OVERHEAD, groIfindex: this.groIfindex };
    obj.addon.mapUpdate(m.sd_cfg, u32Key(0), cfgValue(this.cfg));
    if (this.device?.ifname !== device.ifname) {
      if (this.device) await detachFrom(this.device.ifname, true);
      await obj.attach(device.ifname, 'sd_underlay');
      await obj.attach(device.ifname, 'sd_underlay_out');
    }
    this.device = device;

    const peers = new Set([...i.admitted].map(parseIp));
    peers.delete(parseIp(address));
    for (const p of this.peers) if (!peers.has(p)) obj.addon.mapDelete(m.sd_peers, coaKey(p));
    for (const p of peers) if (!this.peers.has(p)) obj.addon.mapUpdate(m.sd_peers, coaKey(p), u32Key(1));
    this.peers = peers;

    await this.syncVifs(i);
    this.syncFdb();
    if (this.timer === null) {
      this.timer = setInterval(() => this.tick(), SYNC_MS);
      this.timer.unref();
    }
  }

  /** Why the GRO pair could not be set up, each said once. */
  private readonly groSaid = new Set<string>();
  private async setUpPair(obj: LoadedObject, instance: string): Promise<void> {
    const had = this.groIfindex !== 0;
    const pair = await setUpGroPair(obj, instance);
    this.groIfindex = 'ifindex' in pair ? pair.ifindex : 0;
    if ('reason' in pair) {
      if (!this.groSaid.has(pair.reason)) this.logger.warn('no GRO pair: VMs attached with vnet_hdr=on take remote super-packets as segments', { reason: pair.reason });
      this.groSaid.add(pair.reason);
    } else if (had) {
      this.logger.warn('GRO pair was gone: set up again', { ifindex: pair.ifindex });
    }
  }

  /** Which VIFs the kernel carries; attaches and detaches their TAPs. */
  private async syncVifs(i: KernelInputs): Promise<void> {
    const obj = this.obj!;
    const eligible = vnetReasons(i);
    const vnetHdr = await offloadedTaps();
    const keep = new Set<string>();
    this.paths.clear();
    for (const v of i.vifs) {
      const reason = vifReason(v, eligible.get(v.spec.vnet));
      if (reason !== null) {
        this.paths.set(v.spec.id, { path: 'userspace', reason });
        continue;
      }
      const ifname = fastDevice(v)!;
      const veth = v.guest!.device!.netns !== null;
      const offload = veth || vnetHdr.has(ifname);
      const sockFd = v.guest!.packetFd!;
      const known = this.taps.get(v.spec.id);
      // The agent's packet socket is bound to the device: same socket, same device (no `ip` call per apply).
      const ifindex = known?.ifname === ifname && known.sockFd === sockFd ? known.ifindex : await ifindexOf(ifname);
      if (ifindex === null) {
        this.paths.set(v.spec.id, { path: 'userspace', reason: `TAP ${ifname} not found` });
        continue;
      }
      let t = this.taps.get(v.spec.id);
      if (t && (t.ifindex !== ifindex || t.sockFd !== sockFd)) {
        await this.dropTap(v.spec.id, t);
        t = undefined;
      }
      if (!t) {
        // Both programs punt until the VIF's entry exists, so they start deciding together.
        await obj.attach(ifname, 'sd_tap');
        obj.addon.attachSocket(sockFd, obj.sockProg);
        t = { ifname, ifindex, sockFd, veth, offload };
        this.taps.set(v.spec.id, t);
      }
      t.offload = offload;
      obj.addon.mapUpdate(obj.maps.sd_vifs, u32Key(ifindex), vifValue(v.spec.vnet, v.ip, v.mac, offload));
      keep.add(v.spec.id);
      this.paths.set(v.spec.id, { path: 'kernel', reason: null });
    }
    for (const [id, t] of this.taps) if (!keep.has(id)) await this.dropTap(id, t);
    await this.clearLeftovers(i, new Set([...this.taps.values()].map((t) => t.ifname)));
  }

  private async dropTap(id: string, t: Tap): Promise<void> {
    const obj = this.obj;
    this.taps.delete(id);
    if (!obj) return;
    // The entry first: from then on both programs punt.
    obj.addon.mapDelete(obj.maps.sd_vifs, u32Key(t.ifindex));
    try {
      obj.addon.attachSocket(t.sockFd, -1);
    } catch {
      // the guest already closed its socket
    }
    await detachFrom(t.ifname);
  }

  /** The FDB the switch implies now: fast TAPs, other local ports, REACHABLE VARP entries. */
  private syncFdb(): void {
    const obj = this.obj;
    const i = this.inputs;
    if (!obj || !i) return;
    const open = new Set(i.state.vnets.filter((v) => v.security === 'none' && !v.vlan).map((v) => v.id));
    const want = new Map<string, string>();
    const put = (vnet: number, mac: number, v: FdbValue) => want.set(fdbKey(vnet, mac).toString('hex'), fdbValue(v).toString('hex'));
    const vifIndex = new Map([...this.taps].map(([id, t]) => [id, t]));
    for (const e of i.varp?.entries() ?? []) {
      if (e.state === 'REACHABLE' && open.has(e.vnet)) put(e.vnet, e.mac, { kind: FDB_REMOTE, coa: e.coa, port: e.port, gso: this.offloaded.get(fdbKey(e.vnet, e.mac).toString('hex')) === e.coa });
    }
    // Local ports win over anything VARP says, as in the switch.
    for (const p of i.ports) if (open.has(p.vnet)) put(p.vnet, p.mac, { kind: FDB_LOCAL });
    for (const v of i.vifs) {
      const t = vifIndex.get(v.spec.id);
      if (t !== undefined) put(v.spec.vnet, v.mac, { kind: t.veth ? FDB_VETH : FDB_TAP, ifindex: t.ifindex, gso: t.offload });
    }
    for (const k of this.fdb.keys()) if (!want.has(k)) obj.addon.mapDelete(obj.maps.sd_fdb, Buffer.from(k, 'hex'));
    for (const [k, val] of want) if (this.fdb.get(k) !== val) obj.addon.mapUpdate(obj.maps.sd_fdb, Buffer.from(k, 'hex'), Buffer.from(val, 'hex'));
    this.fdb = want;
  }

  /** VARP learned, moved or forgot an entry: the FDB follows before the next frame of this turn. */
  varpChanged(): void {
    if (this.pending || this.obj === null) return;
    this.pending = true;
    setImmediate(() => {
      this.pending = false;
      this.guard('fdb sync', () => this.syncFdb());
    });
  }

  private tick(): void {
    // The pair gone (deleted by hand): the next apply sets it up again; until then frames for VMs go to the TAPs directly.
    if (this.inputs && this.obj && this.groIfindex !== 0 && groPairStats(this.instance) === null) {
      this.guard('gro pair', () => this.obj!.addon.mapUpdate(this.obj!.maps.sd_cfg, u32Key(0), cfgValue({ ...this.cfg!, groIfindex: 0 })));
      void this.apply(this.inputs);
    }
    if (this.inputs && this.taps.size > 0 && !this.checking) {
      this.checking = true;
      void offloadedTaps().then((set) => {
        this.checking = false;
        // A VM attached or detached since: its TAP's offload flag follows.
        if (this.inputs && [...this.taps.values()].some((t) => !t.veth && t.offload !== set.has(t.ifname))) void this.apply(this.inputs);
      });
    }
    this.guard('fdb sync', () => {
      this.refreshSeen();
      this.syncFdb();
    });
    this.guard('peer counters', () => this.readPeers());
  }

  /** What the kernel carried per remote host since the last read, into the per-peer counters. */
  private readPeers(): void {
    if (!this.obj) return;
    for (const [coa, d] of this.peerDeltas.next(readPeerTotals(this.obj, this.cpus))) this.perPeer(coa, d);
  }

  private guard(where: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.counters.inc('softudc_kernel_sync_errors_total');
      this.logger.warn('kernel fast path sync failed', { where, error: (err as Error).message });
    }
  }

  /** FRAMEs the kernel delivered refresh their sender's VARP entry, as the switch's would. */
  private refreshSeen(): void {
    const varp = this.inputs?.varp;
    if (this.obj && varp) this.seenSince = refreshSeen(this.obj, varp, this.seenSince, this.offloaded);
  }

  pathOf(vifId: string): VifPath | undefined {
    return this.paths.get(vifId);
  }

  /** The kernel's counters, summed over CPUs (zero while off). */
  kernelCounters(): Record<CounterName, number> {
    const c = readCounters(this.obj, this.cpus);
    // The GRO pair's own queue overflows count as its drops too (loader.ts).
    if (this.groIfindex !== 0) c.gro_drops += groPairStats(this.instance)?.queueDrops ?? 0;
    return c;
  }

  view(): KernelView {
    return { mode: this.mode, active: this.active, reason: this.active ? null : this.off ?? [...this.said].pop() ?? null, device: this.device?.ifname ?? null, counters: this.kernelCounters() };
  }

  /** Takes everything off the devices and unpins (the agent stops). */
  async stop(): Promise<void> {
    this.inputs = null;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.chain;
    this.guard('peer counters', () => this.readPeers()); // the last second's share
    await this.teardown();
  }

  private async teardown(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const [id, t] of [...this.taps]) await this.dropTap(id, t);
    if (this.device) await detachFrom(this.device.ifname, true);
    this.device = null;
    this.fdb.clear();
    this.peers.clear();
    this.peerDeltas.reset(); // a new object's map starts from zero
    if (this.groIfindex !== 0) await tearDownGroPair(this.instance);
    this.groIfindex = 0;
    const obj = this.obj;
    this.obj = null;
    if (obj) await obj.close();
  }
}
