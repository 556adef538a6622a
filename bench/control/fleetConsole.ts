// One console process of the fleet benchmark (bench/control/fleet.ts): the
// API (server/serve/http.ts, the same entry as the Next.js route) on
// loopback, on the database the parent prepared (BENCH_DB_URL, Postgres), with
// its own event bus, liveness sweep and key rotation as a real console has.
// It answers memory queries over IPC and exits when the parent disconnects.
import { openDatabase } from '../../server/db/index.ts';
import { startApiServer } from '../../server/serve/http.ts';

async function main(): Promise<void> {
  if (!process.send) throw new Error('bench/control/fleetConsole.ts runs as a child of bench/control/fleet.ts (IPC channel)');
  const url = process.env.BENCH_DB_URL;
  if (!url) throw new Error('BENCH_DB_URL is not set');
  const db = await openDatabase({ databaseUrl: url, migrate: false });
  const server = await startApiServer({ db: { prisma: db.prisma, raw: db.raw } });
  const shutdown = async () => {
    await server.close().catch(() => undefined);
    await db.close().catch(() => undefined);
    process.exit(0);
  };
  process.on('disconnect', () => void shutdown());
  process.on('message', (m: { type?: string }) => {
    if (m?.type === 'memory') process.send!({ type: 'memory', memory: process.memoryUsage() });
  });
  process.send({ type: 'ready', url: server.url });
}

main().catch((err: unknown) => {
  console.error(`[fleet console] ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
