// An agent without a VARP key takes 1,000,000 forged GRATUITOUS ANNOUNCEs
// (each for a new MAC on a vnet it has a VIF on) and then rests for 60 s. Its
// VARP cache must stay within its per-vnet bound, /v1/state must list the
// cache a page at a time, and once the forged entries expired the memory must
// come back: its RSS is printed at the start, at the peak and after the rest,
// which must be within 50 MB of the start.
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_VARP_CONFIG } from '../agent/varp/types.ts';
import { VARP_ANNOUNCE, VARP_FLAG_GRATUITOUS, VARP_FLAG_HAS_IP, encodeVarp, parseIp } from '../agent/wire/index.ts';
import { DROPPED, HANDLED, RX, blast } from './agent-blast.ts';
import { family, spawnAgent, tempDir, type AgentProcess } from './agent-process.ts';

const PORT = 20_000 + Math.floor(Math.random() * 20_000);
const TOTAL = 1_000_000;
const REST_MS = 60_000;
const TARGET = '127.0.44.2';
const SENDER = '127.0.44.9';
const MB = 1024 * 1024;
/** How far above its starting RSS the agent may stay after the flood and the rest. */
const REST_RSS_MAX = 50 * MB;

/** VmRSS and VmHWM (the peak) of a process, in bytes. */
async function rss(pid: number): Promise<{ now: number; peak: number }> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(text)![1]) * 1024;
  return { now: kb('VmRSS'), peak: kb('VmHWM') };
}

const mb = (n: number) => `${(n / MB).toFixed(1)} MB`;

describe('agent under an ANNOUNCE flood', () => {
  let target: AgentProcess;
  let cleanup: () => Promise<void> = async () => {};

  beforeAll(async () => {
    const t = await tempDir('softudc-flood-');
    cleanup = t.cleanup;
    target = await spawnAgent(t.dir, 'target', {
      host: 'target',
      generation: 1,
      underlay: { address: TARGET, port: PORT, multicast: null, peers: ['127.0.44.3', SENDER] }, // admitted: a peer's forged flood must still be bounded
      vnets: [{ id: 7, security: 'none' }],
      vifs: [
        { id: 'a', vnet: 7, mac: '02:5d:00:00:00:0a', ip: '10.7.0.10/24', version: 1, guest: { kind: 'emulated' } },
        { id: 'b', vnet: 7, mac: '02:5d:00:00:00:0b', ip: '10.7.0.11/24', version: 1, guest: { kind: 'emulated' } },
      ],
    });
  }, 90_000);

  afterAll(async () => {
    await target?.stop();
    await cleanup();
  });

  it('keeps the cache bounded, pages /v1/state, and gives the memory back after the forged entries expire', async () => {
    if (!(await readFile(`/proc/${target.child.pid}/status`, 'utf8').catch(() => null))) {
      console.log('[flood] skipped: /proc/<pid>/status is not readable here, so RSS cannot be measured');
      if (process.env.SOFTUDC_REQUIRE_ALL === '1') throw new Error('/proc is required with SOFTUDC_REQUIRE_ALL=1');
      return;
    }
    await new Promise((r) => setTimeout(r, 2_000)); // start-up settles
    const start = await rss(target.child.pid!);
    let i = 0;
    const coa = parseIp(SENDER);
    const next = () => {
      i++;
      return encodeVarp({ opcode: VARP_ANNOUNCE, vnet: 7, mac: 0x02_60_00_00_00_00 + i, flags: VARP_FLAG_GRATUITOUS | VARP_FLAG_HAS_IP, ip: parseIp('10.7.0.0') + (i % 65_536), coa, nonce: 0, version: 0xffffffff });
    };
    let maxEntries = 0;
    type Page = { varp: { vnet: number; mac: string }[]; varpTotal: number; varpNext: string | null };
    let listing: { body: string; view: Page; second: Page } | null = null;
    // Paced less tightly than the fuzz runs: a flood is about volume, and a few kernel losses do not matter.
    const r = await blast(target, { address: TARGET, port: PORT }, SENDER, TOTAL, next, {
      maxAhead: 20_000,
      onProgress: async () => {
        const m = await target.metrics();
        const live = m.get('softudc_varp_entries{state="REACHABLE"}') ?? 0;
        maxEntries = Math.max(maxEntries, live);
        // The listing while the cache is full (the forged entries expire 30 s after they came):
        // one page, the total, a cursor; the next page follows on.
        if (listing || live < 2_000) return;
        const body = await (await fetch(`${target.adminUrl}/v1/state`)).text();
        const view = JSON.parse(body) as Page;
        const second = (await (await fetch(`${target.adminUrl}/v1/state?limit=500&after=${encodeURIComponent(view.varpNext ?? '')}`)).json()) as Page;
        listing = { body, view, second };
      },
    });

    expect(listing).not.toBeNull();
    const { body, view, second } = listing!;
    expect((await fetch(`${target.adminUrl}/v1/state?limit=0`)).status).toBe(400);
    const afterFlood = await rss(target.child.pid!);
    const m = await target.metrics();
    maxEntries = Math.max(maxEntries, m.get('softudc_varp_entries{state="REACHABLE"}') ?? 0);

    await new Promise((res2) => setTimeout(res2, REST_MS));
    const rested = await rss(target.child.pid!);
    const restedView = (await target.state()) as unknown as { varpTotal: number };
    console.log(
      `[flood] ${r.sent} forged GRATUITOUS ANNOUNCEs in ${(r.sendMs / 1000).toFixed(1)} s (agent received ${r.received}); ` +
        `RSS start ${mb(start.now)}, peak ${mb(afterFlood.peak)}, after the flood ${mb(afterFlood.now)}, after ${REST_MS / 1000} s of rest ${mb(rested.now)} ` +
        `(${rested.now - start.now >= 0 ? '+' : ''}${mb(rested.now - start.now)} from the start, must be within ${mb(REST_RSS_MAX)})`,
    );
    console.log(
      `[flood] VARP entries at most ${maxEntries} (bound ${DEFAULT_VARP_CONFIG.maxEntriesPerVnet} per vnet), ` +
        `refused ${m.get('softudc_varp_entries_refused_total{scope="vnet"}') ?? 0}; /v1/state ${body.length} bytes listing ${view.varp.length} of ${view.varpTotal}; ` +
        `after the rest ${restedView.varpTotal} entries`,
    );

    expect(target.child.exitCode).toBeNull();
    expect(family(m, HANDLED) + family(m, DROPPED)).toBe(m.get(RX));
    expect(maxEntries).toBeLessThanOrEqual(DEFAULT_VARP_CONFIG.maxEntriesPerVnet);
    expect(view.varpTotal).toBeLessThanOrEqual(DEFAULT_VARP_CONFIG.maxEntriesPerVnet);
    expect(m.get('softudc_varp_entries_refused_total{scope="vnet"}')).toBeGreaterThan(0);
    expect(view.varp).toHaveLength(1_000);
    expect(view.varpNext).toBe(`${view.varp.at(-1)!.vnet}/${view.varp.at(-1)!.mac}`);
    expect(second.varp).toHaveLength(500);
    expect(second.varp[0]!.mac > view.varp.at(-1)!.mac).toBe(true);
    expect(restedView.varpTotal).toBe(0);
    // The memory came back: within 50 MB of where it started (it was 107 MB → 1.38 GB before the cache had bounds).
    expect(rested.now - start.now).toBeLessThanOrEqual(REST_RSS_MAX);
    // Still forwarding and answering after all that.
    expect((await target.ping('a', '10.7.0.11', { timeoutMs: 2000 })).received).toBe(1);
  }, 1_800_000);
});
