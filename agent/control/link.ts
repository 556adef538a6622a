// The console link of a managed agent: one `agent.desired` subscription (SSE)
// delivering this host's desired state, applied idempotently and persisted,
// and `agent.report` after every apply and every report interval.
//
// The link owns reconnection instead of leaving it to EventSource: on any
// connection error it closes the stream and subscribes again after an
// exponential, jittered delay, passing the generation it last applied so the
// console sends only what is newer. Forwarding never waits for the link: the
// dataplane runs from the last applied state whether the console is up or not.
import { EventEmitter } from 'node:events';
import { z } from 'zod';
import type { AgentStateView, ApplyResult } from '../daemon/agent.ts';
import type { Logger } from '../log.ts';
import { desiredMessageSchema as contractDesiredMessage } from '../../contract/hostState.ts';
import { reportAnswerSchema } from '../../contract/report.ts';
import { StateError } from '../state.ts';
import type { Backoff } from './backoff.ts';
import { describeError, type ConsoleClient } from './client.ts';
import { buildReport, type ApplyFailure } from './report.ts';
import { Resubscriber, type LostInfo } from './resubscribe.ts';
import { writePersistedState } from './store.ts';

/** What the link drives: the agent (see managed.ts for the first start). */
export interface ApplyTarget {
  apply(state: unknown): Promise<ApplyResult>;
  snapshot(): AgentStateView | null;
}

export interface ControlLinkOptions {
  client: ConsoleClient;
  target: ApplyTarget;
  /** Where the applied state is persisted; null keeps nothing on disk (tests). */
  stateDir: string | null;
  /** The host named in the credential. */
  hostName: string;
  /**
   * The console named this host differently (an admin renamed it). The
   * stream only ever carries the credential's own host, so the link follows;
   * this lets the caller record the new name.
   */
  onHostRenamed?: (name: string) => Promise<void>;
  logger: Logger;
  agentVersion: string;
  /** Generation already applied (from the persisted state), sent when subscribing. */
  appliedGeneration?: number | null;
  /** [5000 ms] */
  reportIntervalMs?: number;
  backoff?: Backoff;
  /** A connection that lasted this long resets the backoff [10 s]. */
  stableAfterMs?: number;
  /** Reports in a row that may show the console wanting a newer generation before the link resubscribes [3]. */
  lagReports?: number;
}

export const DEFAULT_REPORT_INTERVAL_MS = 5_000;

/**
 * One message of `agent.desired` (contract/hostState.ts), its state taken as
 * it comes: apply() validates it and reports every bad field as a StateError.
 */
export const desiredMessageSchema = contractDesiredMessage.extend({ state: z.record(z.string(), z.unknown()) });
export type DesiredMessage = z.output<typeof desiredMessageSchema>;

export interface ControlLinkEvents {
  applied: [generation: number];
  rejected: [failure: ApplyFailure];
  connected: [];
  disconnected: [reason: string];
  /** Every failed connection attempt, with the tRPC error code when the console gave one. */
  failed: [reason: string, code: string | null];
  reported: [desiredGeneration: number];
}

export class ControlLink extends EventEmitter<ControlLinkEvents> {
  private readonly reportIntervalMs: number;
  private readonly lagReports: number;
  private readonly startedAt = Date.now();
  private applied: number | null;
  /** The last apply of `applied` brought every VIF up (a re-delivery is then a no-op). */
  private appliedClean = true;
  private applyError: ApplyFailure | null = null;
  private persistError: string | null = null;
  private readonly stream: Resubscriber;
  private isConnected = false;
  private reportTimer: NodeJS.Timeout | null = null;
  private pending: DesiredMessage | null = null;
  private applying: Promise<void> | null = null;
  private reporting = false;
  private reportAgain = false;
  private lagCount = 0;
  private running = false;
  private lastFailure = '';
  private hostName: string;

  constructor(private readonly opts: ControlLinkOptions) {
    super();
    this.reportIntervalMs = opts.reportIntervalMs ?? DEFAULT_REPORT_INTERVAL_MS;
    this.lagReports = opts.lagReports ?? 3;
    this.applied = opts.appliedGeneration ?? null;
    this.hostName = opts.hostName;
    if (!(this.reportIntervalMs >= 100)) throw new RangeError('reportIntervalMs must be at least 100 ms');
    this.stream = new Resubscriber({
      client: opts.client,
      path: 'agent.desired',
      input: () => {
        this.opts.logger.debug('subscribing to the desired state', { lastGeneration: this.applied });
        return this.applied === null ? {} : { lastGeneration: this.applied };
      },
      backoff: opts.backoff,
      stableAfterMs: opts.stableAfterMs,
      onUp: () => this.setConnected(true),
      onData: (value) => this.receive(value),
      onLost: (info) => this.lost(info),
    });
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.stream.start();
    this.reportTimer = setInterval(() => void this.report(), this.reportIntervalMs);
    this.reportTimer.unref();
    void this.report();
  }

  /** Closes the stream and the timers; waits for an apply in progress. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.stream.stop();
    if (this.reportTimer) clearInterval(this.reportTimer);
    this.reportTimer = null;
    this.pending = null;
    await this.applying;
    this.setConnected(false, 'stopped');
  }

  get connected(): boolean {
    return this.isConnected;
  }

  get appliedGeneration(): number | null {
    return this.applied;
  }

  /** Reconnection is the resubscriber's; this says what happened, once per distinct failure. */
  private lost({ reason, code, refused, retryInMs }: LostInfo): void {
    if (refused) {
      if (this.lastFailure !== reason) {
        this.opts.logger.error('the console refused this host credential (revoked?); forwarding continues from the last applied state', { error: reason });
      }
    } else if (this.lastFailure !== reason || this.isConnected) {
      this.opts.logger.warn('console link down; forwarding continues from the last applied state', { error: reason, retryInMs });
    }
    this.lastFailure = reason;
    this.setConnected(false, reason);
    this.emit('failed', reason, code);
  }

  private setConnected(up: boolean, reason = ''): void {
    if (up === this.isConnected) return;
    this.isConnected = up;
    if (up) {
      this.lastFailure = '';
      this.opts.logger.info('console link up', { appliedGeneration: this.applied });
      this.emit('connected');
    } else {
      this.emit('disconnected', reason);
    }
  }

  private receive(value: unknown): void {
    // A tracked event arrives as { id, data }; accept the bare payload too.
    const body = value && typeof value === 'object' && 'data' in value && 'id' in value ? (value as { data: unknown }).data : value;
    const r = desiredMessageSchema.safeParse(body);
    if (!r.success) {
      this.opts.logger.error('the console sent a desired state of unexpected shape; ignored', { issue: r.error.issues[0]?.message });
      return;
    }
    this.setConnected(true);
    // Only the newest matters: a burst of changes collapses into one apply.
    this.pending = r.data;
    this.applying ??= this.drain().finally(() => {
      this.applying = null;
    });
  }

  private async drain(): Promise<void> {
    while (this.pending && this.running) {
      const msg = this.pending;
      this.pending = null;
      await this.applyOne(msg);
    }
  }

  private async applyOne(msg: DesiredMessage): Promise<void> {
    const { generation } = msg;
    const log = this.opts.logger;
    if (generation === this.applied && this.appliedClean && this.applyError === null) {
      log.debug('desired state already applied', { generation });
      return;
    }
    const doc: Record<string, unknown> = { ...msg.state, generation };
    if (typeof doc.host === 'string' && doc.host !== '' && doc.host !== this.hostName) {
      log.warn('the console names this host differently now; following it', { host: doc.host, previous: this.hostName });
      this.hostName = doc.host;
      await this.opts.onHostRenamed?.(doc.host).catch((err: Error) => log.error('cannot record the new host name', { error: err.message }));
    }
    let result: ApplyResult;
    try {
      result = await this.opts.target.apply(doc);
    } catch (err) {
      const message = err instanceof StateError ? err.message : (err as Error).message;
      this.reject({ generation, message }, err instanceof StateError ? err.field : undefined);
      return;
    }
    if (this.applied !== null && generation < this.applied) {
      log.warn('the console sent an older generation; applied it (the console is the source of truth)', { generation, previous: this.applied });
    }
    this.applied = generation;
    this.appliedClean = result.errors.length === 0;
    this.applyError = null;
    this.lagCount = 0;
    log.info('desired state applied', {
      generation, added: result.added.length, removed: result.removed.length, changed: result.changed.length, errors: result.errors,
    });
    if (this.opts.stateDir !== null) {
      try {
        await writePersistedState(this.opts.stateDir, doc);
        this.persistError = null;
      } catch (err) {
        this.persistError = `state not persisted (a restart would forward from an older state): ${(err as Error).message}`;
        log.error('cannot persist the applied state', { generation, error: (err as Error).message });
      }
    }
    this.emit('applied', generation);
    void this.report();
  }

  private reject(failure: ApplyFailure, field?: string): void {
    this.applyError = failure;
    this.opts.logger.error('desired state rejected; the running state is kept', { generation: failure.generation, field, error: failure.message });
    this.emit('rejected', failure);
    void this.report();
  }

  /** Sends one report now; calls made meanwhile coalesce into one more. */
  async report(): Promise<void> {
    if (!this.running) return;
    if (this.reporting) {
      this.reportAgain = true;
      return;
    }
    this.reporting = true;
    try {
      const body = buildReport({
        view: this.opts.target.snapshot(),
        agentVersion: this.opts.agentVersion,
        uptimeS: (Date.now() - this.startedAt) / 1000,
        applyError: this.applyError,
        messages: this.persistError ? [this.persistError] : [],
      });
      const answer = reportAnswerSchema.safeParse(await this.opts.client.mutation('agent.report', body));
      if (answer.success) this.checkLag(answer.data.desiredGeneration);
    } catch (err) {
      // The stream's own failure already says the console is away; this stays quiet.
      this.opts.logger.debug('report not delivered', { error: describeError(err) });
    } finally {
      this.reporting = false;
    }
    if (this.reportAgain && this.running) {
      this.reportAgain = false;
      await this.report();
    }
  }

  /**
   * The console says a newer generation is desired. Normally it is on its
   * way; if several reports in a row say so with nothing arriving, the
   * stream missed it (a lost notification) and is opened again.
   */
  private checkLag(desired: number): void {
    this.emit('reported', desired);
    const behind = this.applied === null ? desired > 0 : desired > this.applied;
    if (!behind || this.applying || this.applyError?.generation === desired || !this.isConnected) {
      this.lagCount = 0;
      return;
    }
    this.lagCount += 1;
    if (this.lagCount < this.lagReports) return;
    this.lagCount = 0;
    this.opts.logger.warn('the console wants a newer generation than it sent; subscribing again', { desired, applied: this.applied });
    this.setConnected(false, 'resync');
    this.stream.restart();
  }
}
