// Test hosts in network namespaces: create namespaces, veth links and
// addresses (underlay addresses only from 198.18.0.0/15), run commands inside
// them, and always clean up. Every namespace a run creates is named
// `sdt-<pid>-<name>` (pid in base 36), so a later run can find and delete the
// leftovers of a run that crashed (its pid is gone).
import { execFile, execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';

export const NETNS_PREFIX = 'sdt-';
const IP = ['/usr/sbin/ip', '/sbin/ip'].find((p) => existsSync(p)) ?? 'ip';
const NSENTER = ['/usr/bin/nsenter', '/bin/nsenter'].find((p) => existsSync(p)) ?? 'nsenter';

export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number | null;
}

/** Runs a command (argument vector, no shell); never rejects, see `code`. */
export function run(cmd: string, args: readonly string[], opts: { timeoutMs?: number } = {}): Promise<ExecResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: opts.timeoutMs ?? 30_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ stdout: String(stdout), stderr: String(stderr || (err && code === -1 ? err.message : '')), code });
    });
  });
}

/** Like `run`, but rejects with the command line and stderr on failure. */
export async function must(cmd: string, args: readonly string[], opts: { timeoutMs?: number } = {}): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} → exit ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

function listNetnsSync(): string[] {
  try {
    return readdirSync('/run/netns');
  } catch {
    return [];
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Deletes namespaces left by earlier runs whose process is gone. Returns their names. */
export function cleanStaleNamespaces(): string[] {
  const removed: string[] = [];
  for (const name of listNetnsSync()) {
    const m = /^sdt-([0-9a-z]+)-/.exec(name);
    if (!m) continue;
    const pid = parseInt(m[1]!, 36);
    if (pid === process.pid || pidAlive(pid)) continue;
    try {
      execFileSync(IP, ['netns', 'del', name], { stdio: 'ignore' });
      removed.push(name);
    } catch {
      // already gone
    }
  }
  return removed;
}

let probed: boolean | undefined;
/** True when this process may create network namespaces (root, iproute2, kernel support). */
export function netnsWorks(): boolean {
  if (probed !== undefined) return probed;
  const name = `${NETNS_PREFIX}${process.pid.toString(36)}-probe`;
  try {
    execFileSync(IP, ['netns', 'add', name], { stdio: 'ignore' });
    execFileSync(IP, ['netns', 'del', name], { stdio: 'ignore' });
    probed = true;
  } catch {
    probed = false;
  }
  return probed;
}

export function hasCommand(path: string): boolean {
  return existsSync(path);
}

export class NetnsHarness {
  /** `sdt-<pid36>-`: every namespace of this run starts with it. */
  readonly prefix = `${NETNS_PREFIX}${process.pid.toString(36)}-`;
  private readonly namespaces = new Set<string>();
  private readonly children = new Set<ChildProcess>();
  private readonly exitHook = () => this.cleanupSync();

  constructor() {
    cleanStaleNamespaces();
    process.once('exit', this.exitHook);
  }

  /** Full name of a namespace of this run. */
  name(short: string): string {
    return `${this.prefix}${short}`;
  }

  /** Creates namespace `short` (brings up `lo`) and returns its full name. */
  async addNs(short: string): Promise<string> {
    const ns = this.name(short);
    if (listNetnsSync().includes(ns)) await must(IP, ['netns', 'del', ns]);
    await must(IP, ['netns', 'add', ns]);
    this.namespaces.add(ns);
    await must(IP, ['-n', ns, 'link', 'set', 'lo', 'up']);
    return ns;
  }

  /** Records a namespace created by someone else (an agent) for cleanup. */
  track(ns: string): void {
    this.namespaces.add(ns);
  }

  /** A veth pair between two namespaces, both ends up, optional addresses and MTU. */
  async veth(a: { ns: string; ifname: string; cidr?: string }, b: { ns: string; ifname: string; cidr?: string }, mtu?: number): Promise<void> {
    await must(IP, ['link', 'add', a.ifname, 'netns', a.ns, 'type', 'veth', 'peer', 'name', b.ifname, 'netns', b.ns]);
    for (const end of [a, b]) {
      if (mtu) await must(IP, ['-n', end.ns, 'link', 'set', end.ifname, 'mtu', String(mtu)]);
      if (end.cidr) await this.addr(end.ns, end.ifname, end.cidr);
      await must(IP, ['-n', end.ns, 'link', 'set', end.ifname, 'up']);
    }
  }

  async addr(ns: string, ifname: string, cidr: string): Promise<void> {
    await must(IP, ['-n', ns, 'addr', 'add', cidr, 'dev', ifname]);
  }

  /** Runs a command inside a namespace (argument vector, no shell). */
  exec(ns: string, cmd: string, args: readonly string[], opts: { timeoutMs?: number } = {}): Promise<ExecResult> {
    return run(IP, ['netns', 'exec', ns, cmd, ...args], opts);
  }

  /** Like exec, but rejects on a non-zero exit. */
  async mustExec(ns: string, cmd: string, args: readonly string[], opts: { timeoutMs?: number } = {}): Promise<string> {
    const r = await this.exec(ns, cmd, args, opts);
    if (r.code !== 0) throw new Error(`[${ns}] ${cmd} ${args.join(' ')} → exit ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
    return r.stdout;
  }

  /**
   * Starts a long-running process in a namespace; cleanup() ends it.
   * `netOnly` enters only the network namespace (nsenter) and keeps the mount
   * namespace: `ip netns exec` gives the process a private mount namespace,
   * so namespaces it creates with `ip netns add` would be invisible to
   * everyone else. An agent that creates guest namespaces needs `netOnly`.
   */
  spawn(ns: string, cmd: string, args: readonly string[], opts: SpawnOptions & { netOnly?: boolean } = {}): ChildProcess {
    const { netOnly, ...spawnOpts } = opts;
    const argv = netOnly ? [NSENTER, `--net=/run/netns/${ns}`, '--', cmd, ...args] : [IP, 'netns', 'exec', ns, cmd, ...args];
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], ...spawnOpts });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  /** Ends one spawned process: SIGTERM, then SIGKILL after `graceMs`. */
  async kill(child: ChildProcess, graceMs = 3000): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }

  async cleanup(): Promise<void> {
    await Promise.all([...this.children].map((c) => this.kill(c)));
    for (const ns of [...this.namespaces].reverse()) {
      if (listNetnsSync().includes(ns)) await run(IP, ['netns', 'del', ns]);
      this.namespaces.delete(ns);
    }
    // Namespaces an agent created with our prefix and did not remove.
    for (const ns of listNetnsSync()) if (ns.startsWith(this.prefix)) await run(IP, ['netns', 'del', ns]);
    process.removeListener('exit', this.exitHook);
  }

  /** Last resort at process exit: synchronous, best effort. */
  private cleanupSync(): void {
    for (const c of this.children) c.kill('SIGKILL');
    for (const ns of listNetnsSync()) {
      if (!ns.startsWith(this.prefix)) continue;
      try {
        execFileSync(IP, ['netns', 'del', ns], { stdio: 'ignore' });
      } catch {
        // best effort
      }
    }
  }
}
