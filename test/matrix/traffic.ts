// Kernel traffic probes inside guest namespaces for the matrix rows.
import type { NetnsHarness } from '../netns/harness.ts';
import { pingCount } from '../overlay-fixture.ts';
import type { Guest } from './farm.ts';

export { pingCount };

/** `ping -c count -i interval -W 1` from a guest; sent and received. */
export function ping(h: NetnsHarness, from: Guest | string, to: string, count = 10, intervalS = 0.05, extra: string[] = []) {
  return pingCount(h, typeof from === 'string' ? from : from.ns, to, ['-c', String(count), '-i', String(intervalS), '-W', '1', ...extra]);
}

/** Pings once a second until a reply comes (first resolutions take a moment); false on timeout. */
export async function reaches(h: NetnsHarness, from: Guest | string, to: string, timeoutMs = 15_000): Promise<boolean> {
  const ns = typeof from === 'string' ? from : from.ns;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await h.exec(ns, 'ping', ['-n', '-c', '1', '-W', '1', to], { timeoutMs: 5000 })).code === 0) return true;
  }
  return false;
}

/** The MAC a guest's kernel resolved `ip` to, or null. */
export async function neighbourMac(h: NetnsHarness, g: Guest, ip: string): Promise<string | null> {
  const out = JSON.parse((await h.mustExec(g.ns, 'ip', ['-j', 'neigh', 'show', ip])) || '[]') as Array<{ lladdr?: string }>;
  return out[0]?.lladdr ?? null;
}

/** tcpdump (text, -e) on `ifname` in `ns` while `during` runs; the packet lines it printed. */
export async function tcpdumpLines(h: NetnsHarness, ns: string, ifname: string, filter: string[], during: () => Promise<unknown>): Promise<string[]> {
  const td = h.spawn(ns, 'tcpdump', ['--immediate-mode', '-n', '-e', '-l', '-i', ifname, ...filter]);
  let out = '';
  let err = '';
  td.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  td.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  for (let i = 0; i < 50 && !err.includes('listening'); i++) await new Promise((r) => setTimeout(r, 100));
  if (!err.includes('listening')) throw new Error(`tcpdump in ${ns} did not start: ${err}`);
  await during();
  await new Promise((r) => setTimeout(r, 300));
  await h.kill(td);
  return out.split('\n').filter((l) => l.trim());
}
