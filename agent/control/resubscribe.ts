// One console subscription (SSE) that stays up: on an error or the end of the
// stream it unsubscribes and subscribes again after an exponential, jittered
// delay, instead of leaving reconnection to EventSource. A connection that
// lasted `stableAfterMs` resets the delay; a refused credential waits at
// least REFUSED_DELAY_MS (retrying faster cannot help, and the console's log
// should not fill with it). The desired-state link and the command channel
// both ride on one of these.
import type { Unsubscribable } from '@trpc/server/observable';
import { Backoff } from './backoff.ts';
import { describeError, errorCode, type ConsoleClient } from './client.ts';

/** The shortest wait after the console refused this host's credential. */
export const REFUSED_DELAY_MS = 10_000;
const DEFAULT_STABLE_MS = 10_000;

export interface LostInfo {
  /** One line, safe to log. */
  reason: string;
  /** The tRPC error code, or null for transport failures. */
  code: string | null;
  /** UNAUTHORIZED or FORBIDDEN: the credential was refused (revoked?). */
  refused: boolean;
  /** When the next attempt starts. */
  retryInMs: number;
}

export interface ResubscriberOptions {
  client: ConsoleClient;
  path: string;
  /** The input of each new subscription (e.g. the generation applied so far). */
  input: () => unknown;
  backoff?: Backoff;
  /** A connection that lasted this long resets the backoff [10 s]. */
  stableAfterMs?: number;
  /** The console accepted the subscription. */
  onUp: () => void;
  onData: (value: unknown) => void;
  /** The stream broke or was refused; another attempt is scheduled. */
  onLost: (info: LostInfo) => void;
}

export class Resubscriber {
  private readonly backoff: Backoff;
  private readonly stableAfterMs: number;
  private sub: Unsubscribable | null = null;
  /** Callbacks of an attempt that is no longer current are ignored. */
  private attempt = 0;
  private connectedAt: number | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running = false;

  constructor(private readonly opts: ResubscriberOptions) {
    this.backoff = opts.backoff ?? new Backoff();
    this.stableAfterMs = opts.stableAfterMs ?? DEFAULT_STABLE_MS;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.connect();
  }

  stop(): void {
    this.running = false;
    this.drop();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Subscribes again at once: the caller knows the stream is stale. */
  restart(): void {
    if (!this.running) return;
    this.drop();
    this.connect();
  }

  private drop(): void {
    this.attempt += 1;
    const sub = this.sub;
    this.sub = null;
    sub?.unsubscribe();
  }

  private connect(): void {
    if (!this.running) return;
    const attempt = ++this.attempt;
    this.connectedAt = null;
    this.sub = this.opts.client.subscription(this.opts.path, this.opts.input(), {
      onConnectionStateChange: (s) => {
        if (attempt !== this.attempt) return;
        if (s.state === 'pending') {
          this.connectedAt = Date.now();
          this.opts.onUp();
        } else if (s.state === 'connecting' && s.error) {
          this.lost(attempt, s.error);
        }
      },
      onData: (value) => {
        if (attempt !== this.attempt) return;
        // Data proves the connection even if its state event has not come yet.
        this.connectedAt ??= Date.now();
        this.opts.onData(value);
      },
      onError: (err) => this.lost(attempt, err),
      onComplete: () => this.lost(attempt, new Error(`the console closed the ${this.opts.path} stream`)),
    });
  }

  private lost(attempt: number, err: unknown): void {
    if (attempt !== this.attempt || !this.running) return;
    this.drop();
    if (this.connectedAt !== null && Date.now() - this.connectedAt >= this.stableAfterMs) this.backoff.reset();
    const code = errorCode(err);
    const refused = code === 'UNAUTHORIZED' || code === 'FORBIDDEN';
    let retryInMs = this.backoff.next();
    if (refused) retryInMs = Math.max(retryInMs, REFUSED_DELAY_MS);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connect();
    }, retryInMs);
    this.timer.unref();
    this.opts.onLost({ reason: describeError(err), code, refused, retryInMs });
  }
}
