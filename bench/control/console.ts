// The console process of the subscription benchmark: a fresh database
// (Postgres with DATABASE_URL, else in-memory PGlite) with HOSTS enrolled
// hosts, and server/serve/http.ts serving the API on loopback. It hands the host
// credentials to its parent over the IPC channel (never printed), answers
// memory queries, and exits when the parent disconnects.
import { randomUUID } from 'node:crypto';
import { generateHostCredential, hashToken } from '../../server/auth/tokens.ts';
import { startApiServer } from '../../server/serve/http.ts';
import { createTestDb } from '../../test/db.ts';
import { syntheticAddress } from './synthetic.ts';

const HOSTS = Number(process.env.BENCH_HOSTS ?? 1000);

async function main(): Promise<void> {
  if (!process.send) throw new Error('bench/control/console.ts runs as a child of bench/control.ts (IPC channel)');
  const t = await createTestDb();
  const credentials: string[] = [];
  const rows = [];
  for (let i = 0; i < HOSTS; i++) {
    const credential = generateHostCredential();
    credentials.push(credential);
    rows.push({
      id: randomUUID(),
      name: `sim${i}`,
      // Care-of addresses are only data here: the simulated agents send no UDP.
      address: syntheticAddress(i, 100),
      credentialHash: hashToken(credential),
      // Enrolled but never reporting: offline, so the liveness sweep has nothing to do mid-measurement.
      status: 'offline' as const,
    });
  }
  await t.prisma.host.createMany({ data: rows });
  const server = await startApiServer({ db: { prisma: t.prisma, raw: t.raw } });
  const shutdown = async () => {
    await server.close().catch(() => undefined);
    await t.drop().catch(() => undefined);
    process.exit(0);
  };
  process.on('disconnect', () => void shutdown());
  process.on('message', (m: { type?: string }) => {
    if (m?.type === 'memory') process.send!({ type: 'memory', memory: process.memoryUsage() });
  });
  process.send({ type: 'ready', url: server.url, db: t.kind, credentials });
}

main().catch((err) => {
  console.error(`[bench console] ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
