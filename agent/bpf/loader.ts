// Loading and attaching the fast path's programs. The object is loaded once
// per agent with `bpftool prog loadall` into a pin directory of its own
// (maps pinned beside the programs); programs go onto devices with `tc`
// (clsact ingress, direct action, one filter at a fixed preference, so a
// restarted agent replaces what a previous one left). Map entries are then
// written through the addon's bpf() calls (native.ts), never by spawning.
// bpftool and tc are the kernel's own tools and need no library in the
// addon; docs/operations.md "Kernel fast path" says what they require.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { loadBpfAddon, type BpfAddon } from './native.ts';

export const OBJECT = fileURLToPath(new URL('./build/softudc.bpf.o', import.meta.url));
const BPFFS = '/sys/fs/bpf';
/** tc filter preference of our programs (the underlay port, for recognisability). */
const TC_PREF = '1798';

function binary(name: string): string | null {
  for (const d of ['/usr/sbin', '/sbin', '/usr/bin', '/bin', '/usr/local/sbin']) if (existsSync(`${d}/${name}`)) return `${d}/${name}`;
  return null;
}
const BPFTOOL = binary('bpftool');
const TC = binary('tc');
const MOUNT = binary('mount');
const ETHTOOL = binary('ethtool');
const IP = binary('ip') ?? 'ip';

function run(cmd: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 20_000, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd.split('/').pop()} ${args.join(' ')}: ${String(stderr || err.message).trim()}`));
      else resolve(String(stdout));
    });
  });
}

/** Null when this host can run the fast path, otherwise why not (one sentence). */
export function unsupportedReason(): string | null {
  if (process.platform !== 'linux') return `tc-BPF needs Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'loading BPF programs needs root';
  if (!existsSync(OBJECT)) return 'the BPF object is not built (node scripts/build-bpf.mjs; needs clang and libbpf-dev)';
  if (!BPFTOOL) return 'bpftool is not installed';
  if (!TC) return 'tc (iproute2) is not installed';
  const { reason } = loadBpfAddon();
  return reason;
}

async function ensureBpffs(): Promise<void> {
  const mounts = await readFile('/proc/self/mounts', 'utf8');
  if (mounts.split('\n').some((l) => l.split(' ')[1] === BPFFS && l.split(' ')[2] === 'bpf')) return;
  await mkdir(BPFFS, { recursive: true });
  await run(MOUNT ?? 'mount', ['-t', 'bpf', 'bpf', BPFFS]);
}

export const PROGRAMS = ['sd_tap', 'sd_underlay', 'sd_underlay_out', 'sd_tap_sock', 'sd_gro'] as const;
export const MAPS = ['sd_fdb', 'sd_vifs', 'sd_peers', 'sd_cfg', 'sd_seen', 'sd_counters', 'sd_peer_counters'] as const;

/** One loaded copy of softudc.bpf.o: its pinned programs and the fds of its maps. */
export class LoadedObject {
  private constructor(
    readonly addon: BpfAddon,
    readonly dir: string,
    readonly maps: Record<(typeof MAPS)[number], number>,
    readonly sockProg: number,
  ) {}

  /** Loads into /sys/fs/bpf/softudc/<instance>, replacing whatever a previous agent left there. */
  static async load(instance: string): Promise<LoadedObject> {
    const { addon } = loadBpfAddon();
    if (!addon || !BPFTOOL) throw new Error(unsupportedReason() ?? 'BPF unavailable');
    await ensureBpffs();
    const dir = `${BPFFS}/softudc/${instance}`;
    await rm(dir, { recursive: true, force: true });
    await mkdir(`${BPFFS}/softudc`, { recursive: true });
    await run(BPFTOOL, ['prog', 'loadall', OBJECT, dir, 'pinmaps', `${dir}/maps`]);
    const maps = {} as Record<(typeof MAPS)[number], number>;
    const opened: number[] = [];
    try {
      for (const m of MAPS) opened.push((maps[m] = addon.objGet(`${dir}/maps/${m}`)));
      const sockProg = addon.objGet(`${dir}/sd_tap_sock`);
      return new LoadedObject(addon, dir, maps, sockProg);
    } catch (err) {
      for (const fd of opened) addon.closeFd(fd);
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  }

  /** Puts `prog` on `dev`'s ingress, or its egress for sd_underlay_out (replacing our previous filter there). */
  async attach(dev: string, prog: 'sd_tap' | 'sd_underlay' | 'sd_underlay_out' | 'sd_gro'): Promise<void> {
    const tc = TC ?? 'tc';
    const hook = prog === 'sd_underlay_out' ? 'egress' : 'ingress';
    await run(tc, ['qdisc', 'replace', 'dev', dev, 'clsact']);
    await run(tc, ['filter', 'replace', 'dev', dev, hook, 'pref', TC_PREF, 'handle', '1', 'bpf', 'direct-action', 'object-pinned', `${this.dir}/${prog}`]);
  }

  /** Takes our filter off `dev` (absent device or filter: nothing to do). */
  async detach(dev: string): Promise<void> {
    await detachFrom(dev);
  }

  /** Closes the map fds and unpins; programs still attached to a device stay until detached. */
  async close(): Promise<void> {
    for (const fd of [...Object.values(this.maps), this.sockProg]) this.addon.closeFd(fd);
    await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * The names of an agent's GRO pair (softudc.bpf.c, sd_gro): from its pin
 * instance (underlay address and port), so one pair per agent and a
 * restarted agent finds the one it left.
 */
export function groPairNames(instance: string): { near: string; far: string } {
  const h = createHash('sha256').update(instance).digest('hex').slice(0, 8);
  return { near: `sdg${h}n`, far: `sdg${h}f` };
}

/**
 * Sets up the GRO pair of `obj` (anew: a pair a previous agent left is
 * replaced): a veth pair whose near end cuts the UDP-tunnel super-packets
 * sd_underlay sends it into segments (its TSO and UDP-tunnel segmentation off), and
 * whose far end merges them again (GRO on, which gives a veth its NAPI) and
 * runs sd_gro. Returns the near end's ifindex, or why there is no pair.
 */
export async function setUpGroPair(obj: LoadedObject, instance: string): Promise<{ ifindex: number } | { reason: string }> {
  if (!ETHTOOL) return { reason: 'ethtool is not installed' };
  const { near, far } = groPairNames(instance);
  await run(IP, ['link', 'del', 'dev', near]).catch(() => {});
  try {
    // Segments as large as the vnet's frames, whatever the underlay's MTU.
    // A queue per CPU (up to 16): the near end spreads flows over them, and each far queue merges in its own NAPI.
    const q = String(Math.min(16, Math.max(1, availableParallelism())));
    const queues = ['numtxqueues', q, 'numrxqueues', q];
    await run(IP, ['link', 'add', near, 'mtu', '65535', ...queues, 'type', 'veth', 'peer', 'name', far, 'mtu', '65535', ...queues]);
    // No IPv6 link-local address: the kernel sends nothing of its own on the pair.
    for (const dev of [near, far]) await run(IP, ['link', 'set', 'dev', dev, 'addrgenmode', 'none']);
    // TSO off too: a veth hands its peer's GRO only what it could not have sent whole (veth_skb_is_eligible_for_gro).
    await run(ETHTOOL, ['-K', near, 'tso', 'off', 'tx-udp_tnl-segmentation', 'off', 'tx-udp_tnl-csum-segmentation', 'off']);
    await run(ETHTOOL, ['-K', far, 'gro', 'on']);
    await obj.attach(far, 'sd_gro');
    await run(IP, ['link', 'set', 'dev', far, 'up']);
    await run(IP, ['link', 'set', 'dev', near, 'up']);
    const ifindex = await ifindexOf(near);
    if (ifindex === null) throw new Error(`${near} vanished`);
    return { ifindex };
  } catch (err) {
    await tearDownGroPair(instance);
    return { reason: (err as Error).message };
  }
}

/**
 * The near end of a GRO pair as this namespace's /proc/self/net/dev lists it
 * (read without spawning): null when the device is not there, else the frames
 * it dropped because its far end's queue was full (a veth counts them as its
 * transmit drops).
 */
export function groPairStats(instance: string): { queueDrops: number } | null {
  const { near } = groPairNames(instance);
  let text: string;
  try {
    text = readFileSync('/proc/self/net/dev', 'utf8');
  } catch {
    return null;
  }
  const line = text.split('\n').find((l) => l.trimStart().startsWith(`${near}:`));
  if (line === undefined) return null;
  // face: rx bytes packets errs drop fifo frame compressed multicast, then tx bytes packets errs drop ...
  const cols = line.slice(line.indexOf(':') + 1).trim().split(/\s+/).map(Number);
  return { queueDrops: cols[11] ?? 0 };
}

/** Deletes an agent's GRO pair (both ends go with either); absent: nothing to do. */
export async function tearDownGroPair(instance: string): Promise<void> {
  await run(IP, ['link', 'del', 'dev', groPairNames(instance).near]).catch(() => {});
}

/** Takes our filters off `dev`: ingress, and with `egress` (the underlay device) egress too. */
export async function detachFrom(dev: string, egress = false): Promise<void> {
  const del = (hook: string) => run(TC ?? 'tc', ['filter', 'del', 'dev', dev, hook, 'pref', TC_PREF]).catch(() => {});
  await Promise.all(egress ? [del('ingress'), del('egress')] : [del('ingress')]);
}

/** The device holding IPv4 `address` in this namespace: its name, index and MTU. */
export async function deviceOf(address: string): Promise<{ ifname: string; ifindex: number; mtu: number } | null> {
  const out = JSON.parse(await run(IP, ['-j', '-4', 'addr', 'show'])) as {
    ifname: string;
    ifindex: number;
    mtu: number;
    addr_info?: { local?: string }[];
  }[];
  const d = out.find((l) => l.addr_info?.some((a) => a.local === address));
  return d ? { ifname: d.ifname, ifindex: d.ifindex, mtu: d.mtu } : null;
}

/** A device's index in this namespace, or null when it is not here (asked of the kernel: /sys may be another namespace's). */
export async function ifindexOf(ifname: string): Promise<number | null> {
  try {
    const out = JSON.parse(await run(IP, ['-j', 'link', 'show', 'dev', ifname])) as { ifindex: number }[];
    return out[0]?.ifindex ?? null;
  } catch {
    return null;
  }
}

/** Possible CPUs: the number of slots of a per-CPU map value. */
export function possibleCpus(): number {
  const text = readFileSync('/sys/devices/system/cpu/possible', 'utf8').trim();
  let n = 0;
  for (const part of text.split(',')) {
    const [a, b] = part.split('-').map(Number);
    n += b === undefined ? 1 : b - (a ?? 0) + 1;
  }
  return n;
}
