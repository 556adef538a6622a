// Console events fan out through Postgres LISTEN/NOTIFY, so several console
// processes on one database all see every change (an agent subscribed to one
// process learns of a deploy made through another). Payloads carry ids only;
// receivers re-read what they need. NOTIFY sent inside a transaction is
// delivered at commit, so nobody hears of a change that was rolled back.
import { EventEmitter, on } from 'node:events';
import type { PoolClient } from 'pg';
import type { RawDb } from '../db/sql.ts';

export const EVENT_CHANNEL = 'softudc_events';

export type ConsoleEvent =
  | { type: 'host.desired'; hostId: string; generation: number }
  | { type: 'host.report'; hostId: string; appliedGeneration: number }
  // The last missing target of a deployment reported its generation applied (server/control/agentLink.ts).
  | { type: 'deployment.completed'; deploymentId: string }
  // The host's credential stopped working: revoked, replaced by a new enrollment, or the host deleted.
  | { type: 'host.revoked'; hostId: string }
  // Some credential of the user may have stopped working: a session ended, a token revoked, the user disabled or deleted.
  | { type: 'user.credentials'; userId: string }
  | { type: 'host.status'; hostId: string; status: 'online' | 'offline' }
  | { type: 'farm.changed'; farmId: string; tenantId: string; revision: number }
  | { type: 'farm.deployed'; farmId: string; tenantId: string; revision: number | null }
  // Router manager commands (server/control/agentCommands.ts): a new command for a host's agent, an answer stored.
  | { type: 'agent.command'; hostId: string; commandId: string }
  | { type: 'agent.command.result'; commandId: string; seq: number };

/** Anything that can run `SELECT pg_notify(...)`: a Prisma client or transaction. */
export interface Notifier {
  $executeRawUnsafe(query: string, ...values: unknown[]): Promise<number>;
}

export async function publish(db: Notifier, event: ConsoleEvent): Promise<void> {
  await db.$executeRawUnsafe('SELECT pg_notify($1, $2)', EVENT_CHANNEL, JSON.stringify(event));
}

/**
 * What an event is about, for keyed subscribers: its host, its user or its
 * deployment. A console holds one stream per agent, and each listens for its
 * own host only; delivering every event to every stream's filter made each
 * agent's report cost work in all 1,000 streams.
 */
export function eventKey(e: ConsoleEvent): string | null {
  if ('hostId' in e) return `host:${e.hostId}`;
  if ('userId' in e) return `user:${e.userId}`;
  if ('deploymentId' in e) return `deployment:${e.deploymentId}`;
  return null;
}

export class EventBus {
  private readonly emitter = new EventEmitter();
  private readonly keyed = new Map<string, Set<(e: ConsoleEvent) => void>>();
  private stopListening: (() => Promise<void>) | null = null;

  constructor(private readonly raw: RawDb) {
    this.emitter.setMaxListeners(0); // one per subscribed agent or browser
  }

  async start(): Promise<void> {
    if (this.stopListening) return;
    const onPayload = (payload: string | undefined) => {
      if (!payload) return;
      let event: ConsoleEvent;
      try {
        event = JSON.parse(payload) as ConsoleEvent;
      } catch {
        // A foreign or malformed payload on our channel: ignore it.
        return;
      }
      this.emitter.emit('event', event);
      const key = typeof event === 'object' && event !== null ? eventKey(event) : null;
      const handlers = key === null ? undefined : this.keyed.get(key);
      if (handlers) for (const h of [...handlers]) h(event);
    };
    if (this.raw.kind === 'pglite') {
      const unsub = await this.raw.pglite.listen(EVENT_CHANNEL, onPayload);
      this.stopListening = unsub;
      return;
    }
    // A dedicated connection: LISTEN is per session. Reconnect when it drops.
    const pool = this.raw.pool;
    let stopped = false;
    let client: PoolClient | null = null;
    // A broken connection may report several errors (and a failed LISTEN
    // after them): it goes back to the pool, destroyed, exactly once.
    const released = new WeakSet<PoolClient>();
    const drop = (c: PoolClient, destroy: boolean) => {
      if (released.has(c)) return;
      released.add(c);
      if (client === c) client = null;
      c.release(destroy);
    };
    const connect = async (): Promise<void> => {
      while (!stopped) {
        try {
          const c = await pool.connect();
          client = c;
          c.on('notification', (n) => {
            if (n.channel === EVENT_CHANNEL) onPayload(n.payload);
          });
          let listening = false;
          c.on('error', () => {
            if (released.has(c)) return;
            drop(c, true);
            // Before LISTEN succeeded the loop below retries; after, this is the only retry.
            if (listening && !stopped) setTimeout(() => void connect(), 1000).unref();
          });
          await c.query(`LISTEN ${EVENT_CHANNEL}`);
          listening = true;
          this.emitter.emit('reconnected');
          return;
        } catch {
          const c = client as PoolClient | null;
          if (c) drop(c, true);
          await new Promise((r) => setTimeout(r, 1000).unref());
        }
      }
    };
    await connect();
    this.stopListening = async () => {
      stopped = true;
      const c = client as PoolClient | null;
      client = null;
      if (c && !released.has(c)) {
        await c.query(`UNLISTEN ${EVENT_CHANNEL}`).catch(() => undefined);
        drop(c, false);
      }
    };
  }

  async stop(): Promise<void> {
    const s = this.stopListening;
    this.stopListening = null;
    await s?.();
    this.emitter.removeAllListeners();
    this.keyed.clear();
  }

  /** Events whose eventKey() is `key` only (e.g. `host:<id>`). */
  subscribeTo(key: string, handler: (e: ConsoleEvent) => void): () => void {
    let set = this.keyed.get(key);
    if (!set) this.keyed.set(key, (set = new Set()));
    set.add(handler);
    return () => {
      set.delete(handler);
      if (set.size === 0 && this.keyed.get(key) === set) this.keyed.delete(key);
    };
  }

  subscribe(handler: (e: ConsoleEvent) => void): () => void {
    this.emitter.on('event', handler);
    return () => this.emitter.off('event', handler);
  }

  /** Async iteration for tRPC subscriptions; ends when `signal` aborts. */
  async *events(signal: AbortSignal | undefined, filter: (e: ConsoleEvent) => boolean): AsyncGenerator<ConsoleEvent> {
    for await (const [e] of on(this.emitter, 'event', { signal })) {
      if (filter(e as ConsoleEvent)) yield e as ConsoleEvent;
    }
  }
}
