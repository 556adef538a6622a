// The control loop end to end, without root: a real console (server/serve/http.ts)
// on a real database, three agent processes on 127.0.0.2–4 that enrolled with
// one-time tokens, emulated guests pinging each other across hosts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generations, startControlWorld, twoTierFarm, waitConverged, type ControlWorld } from './control-world.ts';
import { waitFor } from './managed-agent.ts';

let w: ControlWorld;
let farmId: string;

beforeAll(async () => {
  w = await startControlWorld();
}, 90_000);
afterAll(async () => {
  await w?.close();
});

async function vifIdOf(host: 'h1' | 'h2' | 'h3', vm: string): Promise<string> {
  const s = await w.agents[host].state();
  const v = s.vifs.find((x) => x.name === `shop/${vm}/eth0`);
  if (!v) throw new Error(`${host} runs no VIF of ${vm} (has ${s.vifs.map((x) => x.id).join(', ') || 'none'})`);
  return v.id;
}

describe('control loop with three real agents', () => {
  it('deploys a farm: every host reports its generation and guests ping across hosts', async () => {
    const before = await generations(w.db);
    const imported = await w.caller.farm.import({ document: twoTierFarm(), vnids: 'auto' });
    farmId = imported.id;
    const r = await w.caller.farm.deploy({ id: farmId, wait: true, timeoutMs: 30_000 });
    expect(r.timedOut).toBe(false);
    expect(r.progress.complete).toBe(true);
    expect(r.deployment.targets.map((x) => x.host).sort()).toEqual(['h1', 'h2', 'h3']);

    const after = await generations(w.db);
    for (const t of r.deployment.targets) {
      expect(t.generation).toBeGreaterThan(before[t.host]!.desired);
      expect(after[t.host]).toEqual({ desired: t.generation, applied: t.generation });
    }
    // The agents say so themselves, and the console kept their reports.
    const agentGens = await waitConverged(w);
    for (const t of r.deployment.targets) expect(agentGens[t.host]).toBe(t.generation);
    const report = await w.caller.host.report({ id: w.hostIds.h1 });
    expect(report.report?.appliedGeneration).toBe(after.h1!.desired);

    const web1 = await vifIdOf('h1', 'web-1');
    const app1 = await vifIdOf('h3', 'app-1');
    const p1 = await w.agents.h1.ping(web1, '10.10.0.12', { count: 3, intervalMs: 50, timeoutMs: 3_000 });
    expect(p1.received, 'web-1 (h1) -> web-2 (h2)').toBe(3);
    const p2 = await w.agents.h3.ping(app1, '10.20.0.31', { count: 3, intervalMs: 50, timeoutMs: 3_000 });
    expect(p2.received, 'app-1 (h3) -> db-1 (h1)').toBe(3);
    // Different vnets meet only through the farm's router: web-1 reaches back
    // through its gateway (gw on h3, compiled into its VIF), every packet routed.
    const routed = async () =>
      Object.entries((await w.agents.h3.state()).counters)
        .filter(([name]) => name.startsWith('softudc_router_forwarded_packets_total{'))
        .reduce((n, [, v]) => n + v, 0);
    const routedBefore = await routed();
    const cross = await w.agents.h1.ping(web1, '10.20.0.21', { count: 3, intervalMs: 50, timeoutMs: 3_000 });
    expect(cross.received, 'web-1 (front) -> app-1 (back) through gw').toBe(3);
    expect((await routed()) - routedBefore).toBeGreaterThanOrEqual(6);
  }, 60_000);

  it('changes one VIF: its host gets the new address, the other carriers of its vnet only the resolver\'s new answer', async () => {
    const before = await generations(w.db);
    const appliedBefore = { h1: w.agents.h1.appliedGenerations().length, h3: w.agents.h3.appliedGenerations().length };
    const farm = await w.caller.farm.get({ id: farmId });
    const vm = farm.vms.find((v) => v.name === 'web-2')!;
    await w.caller.vif.update({ id: vm.vifs[0]!.id, expectedRevision: farm.revision, ip: '10.10.0.13' });
    const r = await w.caller.farm.deploy({ id: farmId, wait: true, timeoutMs: 30_000 });
    expect(r.progress.complete).toBe(true);
    // Every host carrying the vnet runs its resolver, which answers web-2's new address.
    expect(r.deployment.targets.map((t) => t.host)).toEqual(['h1', 'h2', 'h3']);

    const after = await generations(w.db);
    expect(after.h2!.desired).toBe(before.h2!.desired + 1);
    expect(after.h1!.desired).toBe(before.h1!.desired + 1);
    await waitConverged(w);
    expect(w.agents.h1.appliedGenerations()).toHaveLength(appliedBefore.h1 + 1);
    expect(w.agents.h3.appliedGenerations()).toHaveLength(appliedBefore.h3 + 1);

    const web2 = (await w.agents.h2.state()).vifs.find((v) => v.name === 'shop/web-2/eth0')!;
    expect(web2.ip).toBe('10.10.0.13/24');
    const web1 = await vifIdOf('h1', 'web-1');
    const p = await w.agents.h1.ping(web1, '10.10.0.13', { count: 3, intervalMs: 50, timeoutMs: 3_000 });
    expect(p.received).toBe(3);
  }, 60_000);

  it('migrates a VM: traffic resumes on the new host and the old host lets go of the VIF', async () => {
    const web1 = await vifIdOf('h1', 'web-1');
    const web2Id = await vifIdOf('h2', 'web-2');
    const versionBefore = (await w.agents.h2.state()).vifs.find((v) => v.id === web2Id)!.version;
    expect((await w.agents.h1.ping(web1, '10.10.0.13', { count: 1, timeoutMs: 3_000 })).received).toBe(1);

    // Single pings back to back while the VM moves: each success or loss is timestamped.
    const samples: { at: number; ok: boolean }[] = [];
    let moving = true;
    let stopAt = Infinity;
    const prober = (async () => {
      // Runs until the move is done and replies flow again, or 10 s after the move without them.
      while (moving || !samples.slice(-5).every((s) => s.ok) || samples.length < 5) {
        if (Date.now() > stopAt) break;
        const at = Date.now();
        const r = await w.agents.h1.ping(web1, '10.10.0.13', { count: 1, timeoutMs: 100 });
        samples.push({ at, ok: r.received === 1 });
        if (Date.now() - at < 10) await new Promise((res) => setTimeout(res, 10 - (Date.now() - at)));
      }
    })();
    await new Promise((res) => setTimeout(res, 200));
    const farm = await w.caller.farm.get({ id: farmId });
    const vm = farm.vms.find((v) => v.name === 'web-2')!;
    const started = Date.now();
    const m = await w.caller.vm.migrate({ id: vm.id, hostId: w.hostIds.h3, expectedRevision: farm.revision, wait: true, timeoutMs: 30_000 });
    const appliedMs = Date.now() - started;
    expect(m.progress?.complete).toBe(true);
    expect(m.deployment?.targets.map((t) => t.host).sort()).toContain('h2');
    expect(m.deployment?.targets.map((t) => t.host)).toContain('h3');
    await new Promise((res) => setTimeout(res, 300));
    moving = false;
    stopAt = Date.now() + 10_000;
    await prober;

    // Interruption: the longest stretch without a reply that overlaps the migration.
    let worst = 0;
    let lastOk = samples.find((s) => s.ok)!.at;
    for (const s of samples) {
      if (s.ok) {
        worst = Math.max(worst, s.at - lastOk);
        lastOk = s.at;
      }
    }
    const lost = samples.filter((s) => !s.ok).length;
    console.log(
      `[migration] web-2 h2 -> h3: applied on all targets in ${appliedMs} ms; ` +
        `${samples.length} probes, ${lost} lost, longest gap between replies ${worst} ms`,
    );
    expect(samples.slice(-5).every((s) => s.ok), 'traffic resumed').toBe(true);

    await waitConverged(w);
    const h2 = await w.agents.h2.state();
    expect(h2.vifs.map((v) => v.id)).not.toContain(web2Id);
    const moved = (await w.agents.h3.state()).vifs.find((v) => v.id === web2Id);
    expect(moved?.version).toBeGreaterThan(versionBefore);
    // h1 now resolves web-2's MAC to h3's care-of address.
    await waitFor(async () => {
      const entry = (await w.agents.h1.state()).varp.find((e) => e.ip === '10.10.0.13' && e.state === 'REACHABLE');
      return entry?.coa === '127.0.0.4';
    }, 'h1 resolving web-2 at h3', 5_000);
  }, 90_000);
});
