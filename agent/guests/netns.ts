// Network-namespace and link plumbing for TAP guests, done with iproute2's
// `ip` through execFile (argument vectors, never a shell string), so names
// that come from a state file cannot inject commands.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { isNetnsName } from '../../contract/fields.ts';

export class IpCommandError extends Error {
  readonly code = 'EIPCMD';
  constructor(
    readonly args: readonly string[],
    readonly stderr: string,
    readonly exitCode: number | null,
  ) {
    super(`ip ${args.join(' ')} failed (exit ${exitCode}): ${stderr.trim() || 'no message'}`);
  }
}

/** Path of the `ip` binary: PATH may be minimal under sudo or systemd. */
function ipBinary(): string {
  for (const p of ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip']) if (existsSync(p)) return p;
  return 'ip';
}
const IP = ipBinary();

/** Runs `ip [-n netns] args...`; resolves with stdout, rejects with IpCommandError. */
export function ip(args: readonly string[], netns?: string): Promise<string> {
  const argv = netns ? ['-n', netns, ...args] : [...args];
  return new Promise((resolve, reject) => {
    execFile(IP, argv, { timeout: 10_000, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      if (err) {
        const code = typeof err.code === 'number' ? err.code : null;
        reject(new IpCommandError(argv, String(stderr || err.message), code));
      } else resolve(String(stdout));
    });
  });
}

/** Tokens a batch line may hold: names, addresses, numbers (validated before they get here). */
const BATCH_TOKEN_RE = /^[A-Za-z0-9_.:/%-]+$/;

/**
 * Runs several `ip` commands in one process (`ip -batch -`): attaching a guest
 * takes about ten link and address changes, and one process instead of ten
 * keeps a VIF move short. Stops at the first failing command.
 */
export function ipBatch(commands: readonly (readonly string[])[], netns?: string): Promise<void> {
  for (const c of commands) {
    for (const t of c) if (!BATCH_TOKEN_RE.test(t)) throw new Error(`ip batch: refusing token ${JSON.stringify(t)}`);
  }
  const argv = netns ? ['-n', netns, '-batch', '-'] : ['-batch', '-'];
  return new Promise((resolve, reject) => {
    const child = execFile(IP, argv, { timeout: 10_000 }, (err, _stdout, stderr) => {
      if (err) reject(new IpCommandError(argv, String(stderr || err.message), typeof err.code === 'number' ? err.code : null));
      else resolve();
    });
    child.stdin?.end(commands.map((c) => c.join(' ')).join('\n') + '\n');
  });
}

export async function listNetns(): Promise<string[]> {
  const out = await ip(['netns', 'list']);
  // Lines look like "name" or "name (id: 3)".
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n.length > 0);
}

export async function netnsExists(name: string): Promise<boolean> {
  return existsSync(`/run/netns/${name}`) || (await listNetns()).includes(name);
}

/** Creates the namespace unless it exists; returns true when this call created it. */
export async function ensureNetns(name: string): Promise<boolean> {
  if (!isNetnsName(name)) throw new Error(`guest.netns: invalid namespace name ${JSON.stringify(name)}`);
  if (await netnsExists(name)) return false;
  try {
    await ip(['netns', 'add', name]);
    return true;
  } catch (err) {
    // Lost a race with another creator: the namespace is there, not ours.
    if (await netnsExists(name)) return false;
    throw err;
  }
}

export async function deleteNetns(name: string): Promise<void> {
  if (!(await netnsExists(name))) return;
  await ip(['netns', 'del', name]);
}

export async function linkExists(ifname: string, netns?: string): Promise<boolean> {
  try {
    await ip(['link', 'show', 'dev', ifname], netns);
    return true;
  } catch {
    return false;
  }
}

/** Deletes a link; a link that is not there is not an error. */
export async function deleteLink(ifname: string, netns?: string): Promise<void> {
  try {
    await ip(['link', 'del', 'dev', ifname], netns);
  } catch (err) {
    if (err instanceof IpCommandError && /cannot find device|does not exist/i.test(err.stderr)) return;
    throw err;
  }
}

export async function moveLinkToNetns(ifname: string, netns: string): Promise<void> {
  await ip(['link', 'set', 'dev', ifname, 'netns', netns]);
}

export interface LinkConfig {
  ifname: string;
  netns?: string;
  /** Rename the link from this name first (it is down right after a namespace move). */
  renameFrom?: string;
  mac?: string;
  mtu?: number;
  /** "a.b.c.d/len". */
  cidr?: string;
  /** Remove the link's other IPv4 addresses first. */
  replaceAddresses?: boolean;
  /** Stop the kernel from giving the link an IPv6 link-local address. */
  noIpv6?: boolean;
}

/**
 * Applies name, MAC, MTU and address and brings the link up (and `lo` when
 * in a guest namespace), in one `ip -batch`. MAC and MTU are set while the
 * link is down: some drivers refuse a MAC change on a running link.
 */
export async function configureLink(cfg: LinkConfig): Promise<void> {
  const { ifname, netns } = cfg;
  const cmds: string[][] = [];
  if (cfg.renameFrom !== undefined && cfg.renameFrom !== ifname) cmds.push(['link', 'set', 'dev', cfg.renameFrom, 'down', 'name', ifname]);
  if (cfg.mac !== undefined || cfg.mtu !== undefined || cfg.noIpv6) {
    cmds.push(['link', 'set', 'dev', ifname, 'down']);
    const set = ['link', 'set', 'dev', ifname];
    if (cfg.mac !== undefined) set.push('address', cfg.mac);
    if (cfg.mtu !== undefined) set.push('mtu', String(cfg.mtu));
    if (cfg.noIpv6) set.push('addrgenmode', 'none');
    cmds.push(set);
  }
  if (cfg.cidr !== undefined) cmds.push(['addr', 'replace', cfg.cidr, 'dev', ifname]);
  cmds.push(['link', 'set', 'dev', ifname, 'up']);
  if (netns) cmds.push(['link', 'set', 'dev', 'lo', 'up']);
  // Batch lines take no options, so dropping the previous IPv4 addresses
  // (an update) is its own command; a new device has none.
  if (cfg.cidr !== undefined && cfg.replaceAddresses) await ip(['-4', 'addr', 'flush', 'dev', ifname], netns);
  await ipBatch(cmds, netns);
}

/** Readback used by tests and by `update()`: MAC, MTU, IPv4 CIDRs, up. */
export async function readLink(ifname: string, netns?: string): Promise<{ mac: string; mtu: number; cidrs: string[]; up: boolean }> {
  const out = await ip(['-j', 'addr', 'show', 'dev', ifname], netns);
  const parsed = JSON.parse(out) as Array<{
    address?: string;
    mtu?: number;
    flags?: string[];
    addr_info?: Array<{ family?: string; local?: string; prefixlen?: number }>;
  }>;
  const link = parsed[0];
  if (!link) throw new Error(`link ${ifname} not found`);
  return {
    mac: link.address ?? '',
    mtu: link.mtu ?? 0,
    up: (link.flags ?? []).includes('UP'),
    cidrs: (link.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`),
  };
}

/**
 * The host end's name of a namespace guest's veth pair: stable for the
 * guest's namespace and device, so an agent started again finds (and
 * replaces) what a killed one left.
 */
export function vethHostIfname(netns: string, ifname: string): string {
  return `sv${createHash('sha256').update(`${netns}/${ifname}`).digest('hex').slice(0, 12)}`;
}

/**
 * A veth pair whose end `temp` is born in `netns` (down, to be renamed by
 * swapVethIn) and `host` stays in the agent's namespace, up, without
 * addresses; both ends get `mtu`. A link `host` left by a previous agent is
 * replaced.
 */
export async function createVeth(host: string, temp: string, netns: string, mtu: number): Promise<void> {
  const cmds = [
    ['link', 'add', host, 'mtu', String(mtu), 'type', 'veth', 'peer', 'name', temp, 'mtu', String(mtu), 'netns', netns],
    ['link', 'set', 'dev', host, 'addrgenmode', 'none'],
    ['link', 'set', 'dev', host, 'up'],
  ];
  try {
    await ipBatch(cmds);
  } catch (err) {
    if (!(err instanceof IpCommandError && /exists/i.test(err.stderr))) throw err;
    await deleteLink(host);
    await ipBatch(cmds);
  }
}

/**
 * Gives the new end `temp` in `netns` the guest's name, MAC and address and
 * brings it up, deleting first the device of that name (a migration: the
 * previous host's) in the same `ip` process, so the guest is without a
 * device for as short a time as possible.
 */
export async function swapVethIn(cfg: { netns: string; temp: string; ifname: string; mac: string; cidr: string; replace: boolean }): Promise<void> {
  const { netns, temp, ifname } = cfg;
  await ipBatch(
    [
      ...(cfg.replace ? [['link', 'del', 'dev', ifname]] : []),
      ['link', 'set', 'dev', temp, 'name', ifname, 'address', cfg.mac],
      ['addr', 'replace', cfg.cidr, 'dev', ifname],
      ['link', 'set', 'dev', ifname, 'up'],
      ['link', 'set', 'dev', 'lo', 'up'],
    ],
    netns,
  );
}
