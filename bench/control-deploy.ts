// Deploy-to-all-applied: how long from `farm.deploy` until every target host
// runs the new generation, for a 100-VM farm over three real agent processes
// (127.0.0.2–4, emulated guests) and a real console (server/serve/http.ts).
// Part of `npm run bench:control`; alone: `npx tsx bench/control-deploy.ts`.
//   DATABASE_URL=postgresql://…  on Postgres (else the embedded PGlite)
//   BENCH_DEPLOY_VMS=100         farm size
//   BENCH_DEPLOY_RUNS=5          repetitions of the change step
import { expectAnswer } from './verdict.ts';
import { fileURLToPath } from 'node:url';
import { generations, startControlWorld, type ControlWorld } from '../test/control-world.ts';
import type { FarmDocumentInput } from '../server/farms/farmDocument.ts';

const VMS = Number(process.env.BENCH_DEPLOY_VMS ?? 100);
const RUNS = Number(process.env.BENCH_DEPLOY_RUNS ?? 5);
const HOSTS = ['h1', 'h2', 'h3'] as const;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

function farmOf(vms: number): FarmDocumentInput {
  return {
    version: 'softudc.farm/v1',
    name: 'bench',
    vnets: [
      { name: 'a', cidr: '10.30.0.0/20' },
      { name: 'b', cidr: '10.40.0.0/20' },
    ],
    vms: Array.from({ length: vms }, (_, i) => ({
      name: `vm-${i}`,
      host: HOSTS[i % HOSTS.length],
      vifs: [{ name: 'eth0', vnet: i % 2 === 0 ? 'a' : 'b' }],
    })),
  };
}

interface Timing {
  commitMs: number;
  appliedMs: number;
  perHost: Record<string, number>;
  targets: number;
}

/** Runs `deploy` (which must not wait) and polls until every target host applied its generation. */
async function timeDeploy(w: ControlWorld, deploy: () => Promise<{ deployment: { targets: { host: string; generation: number }[] } | null }>): Promise<Timing> {
  const t0 = performance.now();
  const r = await deploy();
  const commitMs = performance.now() - t0;
  const targets = r.deployment?.targets ?? [];
  const perHost: Record<string, number> = {};
  while (Object.keys(perHost).length < targets.length) {
    const gens = await generations(w.db);
    for (const t of targets) {
      if (perHost[t.host] === undefined && gens[t.host]!.applied >= t.generation) perHost[t.host] = performance.now() - t0;
    }
    if (performance.now() - t0 > 60_000) throw new Error(`not applied within 60 s: ${JSON.stringify(perHost)}`);
    await new Promise((res) => setTimeout(res, 5));
  }
  return { commitMs, appliedMs: performance.now() - t0, perHost, targets: targets.length };
}

function line(label: string, t: Timing): string {
  const hosts = Object.entries(t.perHost).sort(([a], [b]) => (a < b ? -1 : 1)).map(([h, ms]) => `${h} ${ms.toFixed(0)}`).join(', ');
  return `   ${label.padEnd(26)} commit ${t.commitMs.toFixed(0).padStart(5)} ms   all ${t.targets} applied ${t.appliedMs.toFixed(0).padStart(5)} ms   (${hosts})`;
}

export async function benchDeploy(): Promise<void> {
  const w = await startControlWorld({ reportIntervalS: 5 });
  try {
    console.log(`\n== deploy to all applied (${VMS}-VM farm over three real agents on 127.0.0.2-4, emulated guests, database ${w.t.kind})`);
    const t0 = performance.now();
    const farm = await w.caller.farm.import({ document: farmOf(VMS), vnids: 'auto' });
    console.log(`   import ${VMS} VMs               ${(performance.now() - t0).toFixed(0)} ms`);

    const first = await timeDeploy(w, () => w.caller.farm.deploy({ id: farm.id }));
    console.log(line(`deploy ${VMS} VMs`, first));

    // A small change: one VIF's address, on one host.
    const changes: Timing[] = [];
    for (let i = 0; i < RUNS; i++) {
      const f = await w.caller.farm.get({ id: farm.id });
      const vm = f.vms.find((v) => v.name === 'vm-0')!;
      await w.caller.vif.update({ id: vm.vifs[0]!.id, expectedRevision: f.revision, ip: `10.30.${8 + i}.1` });
      changes.push(await timeDeploy(w, () => w.caller.farm.deploy({ id: farm.id })));
    }
    const mid = changes.map((c) => c.appliedMs);
    console.log(line('change one VIF (median)', changes.find((c) => c.appliedMs === median(mid))!));

    // A migration: placement edit plus deploy in one call.
    const f = await w.caller.farm.get({ id: farm.id });
    const vm1 = f.vms.find((v) => v.name === 'vm-1')!;
    const mig = await timeDeploy(w, () => w.caller.vm.migrate({ id: vm1.id, hostId: w.hostIds.h3, expectedRevision: f.revision }));
    console.log(line('migrate one VM', mig));

    // Check the result forwards: a guest on h1 reaches one on h2 (same vnet).
    const s1 = await w.agents.h1.state();
    const from = s1.vifs.find((v) => v.name?.endsWith('/vm-6/eth0'))!;
    const target = (await w.agents.h2.state()).vifs.find((v) => v.name?.endsWith('/vm-4/eth0'))!;
    const ping = await w.agents.h1.ping(from.id, target.ip.split('/')[0]!, { count: 3, intervalMs: 20, timeoutMs: 1_000 });
    console.log(`   check: ${s1.vifs.length} VIFs on h1; vm-6 (h1) -> vm-4 (h2) ${ping.received}/3 replies${ping.avgMs == null ? '' : `, avg ${ping.avgMs.toFixed(2)} ms`}`);
    expectAnswer(ping.received === 3, `deploy check: vm-6 (h1) -> vm-4 (h2) ${ping.received}/3 replies`);

    const down = await timeDeploy(w, () => w.caller.farm.undeploy({ id: farm.id }));
    console.log(line(`undeploy ${VMS} VMs`, down));
  } finally {
    await w.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  benchDeploy().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
