// Host liveness. An agent reports every 5 s (REPORT_INTERVAL_MS); a host
// silent for three intervals is offline. Reads compute it (`liveStatus`), and
// every console process that serves agents or browsers runs a sweep that
// stores it (so anything reading Host.status agrees) and announces it
// (`host.status`), so browsers watching reports see a host go dark.
import type { Db } from '../db/index.ts';
import { publishMany } from '../events/index.ts';

export type HostStatus = 'pending' | 'online' | 'offline' | 'revoked';

/** How often agents report (the agent's --report-interval default). */
export const REPORT_INTERVAL_MS = 5_000;
/** Silent for three report intervals: offline. */
export const OFFLINE_AFTER_MS = 3 * REPORT_INTERVAL_MS;

export function liveStatus(status: HostStatus, lastSeenAt: Date | null, now: Date = new Date()): HostStatus {
  if (status !== 'online') return status;
  return lastSeenAt && now.getTime() - lastSeenAt.getTime() <= OFFLINE_AFTER_MS ? 'online' : 'offline';
}

/** Marks online hosts that stopped reporting offline; returns their ids. */
export async function sweepOfflineHosts(o: { db: Db; now?: Date }): Promise<string[]> {
  const now = o.now ?? new Date();
  const cutoff = new Date(now.getTime() - OFFLINE_AFTER_MS);
  return o.db.$transaction(async (tx) => {
    const rows = await tx.$queryRawUnsafe<{ id: string }[]>(
      `UPDATE "Host" SET "status" = 'offline', "updatedAt" = $2
        WHERE "status" = 'online' AND ("lastSeenAt" IS NULL OR "lastSeenAt" < $1)
        RETURNING "id"::text AS "id"`,
      cutoff,
      now,
    );
    await publishMany(tx, rows.map((r) => ({ type: 'host.status', hostId: r.id, status: 'offline' })));
    return rows.map((r) => r.id);
  });
}

/** Runs the offline sweep every report interval; timer unref'ed, errors swallowed (the next run retries). */
export class LivenessSweep {
  private timer: NodeJS.Timeout | null = null;
  private running = false;

  constructor(
    private readonly db: Db,
    private readonly intervalMs = REPORT_INTERVAL_MS,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async tick(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await sweepOfflineHosts({ db: this.db });
    } catch {
      // Database unavailable or closing: the hosts keep their status until the next run.
    } finally {
      this.running = false;
    }
  }
}

const SWEEPS_KEY = Symbol.for('softudc.livenessSweeps');

function sweeps(): Map<Db, LivenessSweep> {
  const g = globalThis as typeof globalThis & { [SWEEPS_KEY]?: Map<Db, LivenessSweep> };
  return (g[SWEEPS_KEY] ??= new Map());
}

/** Starts (once per database per process) the liveness sweep. */
export function ensureLivenessSweep(db: Db): void {
  const all = sweeps();
  if (all.has(db)) return;
  const s = new LivenessSweep(db);
  all.set(db, s);
  s.start();
}

export function stopLivenessSweep(db: Db): void {
  sweeps().get(db)?.stop();
  sweeps().delete(db);
}
