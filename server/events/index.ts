// One started EventBus per database per process. The console's own database
// gets its bus lazily on first use (a subscription, a deploy that waits);
// tests and the standalone HTTP server attach a bus to the database they
// opened. The registry lives on globalThis so that Next.js dev reloads, which
// re-evaluate this module, keep the single LISTEN connection instead of
// opening another one per reload.
import { getDatabase, type Db, type RawDb } from '../db/index.ts';
import { EventBus, EVENT_CHANNEL, type ConsoleEvent } from './bus.ts';

export { EventBus, EVENT_CHANNEL, eventKey, publish, type ConsoleEvent, type Notifier } from './bus.ts';

const REGISTRY_KEY = Symbol.for('softudc.eventBus');
/** The key server/db/index.ts keeps its process-wide database under. */
const DB_HOLDER_KEY = Symbol.for('softudc.db');

interface Registry {
  buses: Map<Db, { bus: Promise<EventBus>; users: number }>;
}

function registry(): Registry {
  const g = globalThis as typeof globalThis & { [REGISTRY_KEY]?: Registry };
  return (g[REGISTRY_KEY] ??= { buses: new Map() });
}

/**
 * Starts (once) and registers a bus listening on `raw`, for code that is
 * handed `db`. Every attach is matched by one detach; the bus stops with the
 * last one.
 */
export function attachEventBus(db: Db, raw: RawDb): Promise<EventBus> {
  const reg = registry();
  const entry = reg.buses.get(db);
  if (entry) {
    entry.users++;
    return entry.bus;
  }
  const created = new EventBus(raw);
  const bus = created.start().then(() => created);
  reg.buses.set(db, { bus, users: 1 });
  // A failed start is not cached: the next caller tries again.
  bus.catch(() => {
    if (reg.buses.get(db)?.bus === bus) reg.buses.delete(db);
  });
  return bus;
}

/** Releases one attach of `db`; the last one stops the bus (before the database is closed). */
export async function detachEventBus(db: Db): Promise<void> {
  const reg = registry();
  const entry = reg.buses.get(db);
  if (!entry || --entry.users > 0) return;
  reg.buses.delete(db);
  await (await entry.bus.catch(() => null))?.stop();
}

/**
 * The bus for `db` (default: the console's process-wide database). A
 * database that is neither attached nor the process database is refused
 * rather than silently opening the process database beside it.
 */
export async function getEventBus(db?: Db): Promise<EventBus> {
  if (db) {
    const attached = registry().buses.get(db);
    if (attached) return attached.bus;
    const g = globalThis as typeof globalThis & { [DB_HOLDER_KEY]?: { opening?: Promise<unknown> } };
    if (!g[DB_HOLDER_KEY]?.opening) {
      throw new Error('no event bus is attached to this database (call attachEventBus(db, raw) first)');
    }
  }
  const opened = await getDatabase();
  if (db && opened.prisma !== db) {
    throw new Error('no event bus is attached to this database (call attachEventBus(db, raw) first)');
  }
  const existing = registry().buses.get(opened.prisma);
  // The process-wide bus lives as long as the process (one attach, never detached).
  return existing ? existing.bus : attachEventBus(opened.prisma, opened.raw);
}

/**
 * Events collected from the moment of subscription, drained in batches.
 * Subscribing before reading the database is what makes "read, then follow
 * changes" race-free: a change committed between the read and the first wait
 * is already in the queue.
 */
export class EventInbox {
  private queue: ConsoleEvent[] = [];
  private wake: (() => void) | null = null;
  private readonly unsubscribe: () => void;
  private closed = false;

  /** `key`: only events about that host or user (EventBus.subscribeTo), then `filter`. */
  constructor(bus: EventBus, filter: (e: ConsoleEvent) => boolean, key?: string) {
    const take = (e: ConsoleEvent) => {
      if (!filter(e)) return;
      this.queue.push(e);
      this.wake?.();
    };
    this.unsubscribe = key === undefined ? bus.subscribe(take) : bus.subscribeTo(key, take);
  }

  /**
   * Resolves with every event since the last call (at least one), or with
   * [] when `timeoutMs` passes or `signal` aborts first.
   */
  async next(opts: { signal?: AbortSignal | undefined; timeoutMs?: number | undefined } = {}): Promise<ConsoleEvent[]> {
    if (this.queue.length === 0 && !this.closed && !opts.signal?.aborted) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          opts.signal?.removeEventListener('abort', done);
          this.wake = null;
          resolve();
        };
        const timer = opts.timeoutMs === undefined ? undefined : setTimeout(done, Math.max(0, opts.timeoutMs));
        timer?.unref();
        opts.signal?.addEventListener('abort', done, { once: true });
        this.wake = done;
      });
    }
    const out = this.queue;
    this.queue = [];
    return out;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    this.wake?.();
  }
}

/** Sends several events in one statement (one round trip inside a large transaction). */
export async function publishMany(
  db: { $executeRawUnsafe(query: string, ...values: unknown[]): Promise<number> },
  events: ConsoleEvent[],
): Promise<void> {
  if (events.length === 0) return;
  await db.$executeRawUnsafe(
    'SELECT pg_notify($1, e) FROM unnest($2::text[]) AS e',
    EVENT_CHANNEL,
    events.map((e) => JSON.stringify(e)),
  );
}
