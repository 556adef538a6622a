// The router manager's command channel, agent side: an `agent.commands`
// subscription (SSE, beside `agent.desired`) delivering commands for this
// host only, each run against the agent's routers and firewalls
// (execute.ts) with its answers posted one by one to `agent.commandResult`
// ({id, seq, data, done, error}) as they happen.
//
// Like the desired-state link it owns its reconnection (exponential, jittered
// backoff). Commands are claimed by the console when it sends them, so a
// reconnect replays nothing; one lost in a broken stream times out on the
// console's side. Answers are retried a few times on transport errors (the
// console ignores a repeated seq); an answer the console refuses as CONFLICT
// or NOT_FOUND (the command ended, expired or is not ours) stops the command.
import { EventEmitter } from 'node:events';
import type { Logger } from '../log.ts';
import type { Backoff } from './backoff.ts';
import { describeError, errorCode, type ConsoleClient } from './client.ts';
import { Resubscriber, type LostInfo } from './resubscribe.ts';
import { agentCommandSchema, type AgentCommand } from '../../contract/commands.ts';
import { COMMAND_ERROR_MAX_CHARS } from '../../contract/limits.ts';
import { CommandError, executeCommand, type CommandNodes } from './execute.ts';

export interface CommandChannelOptions {
  client: ConsoleClient;
  nodes: CommandNodes;
  logger: Logger;
  /** Sent with "cannot run" answers, so an operator sees which agent is behind. */
  agentVersion: string;
  backoff?: Backoff;
  /** A connection that lasted this long resets the backoff [10 s]. */
  stableAfterMs?: number;
  /** Commands running at once at most [8]; more are answered "busy" (the console caps them per host anyway). */
  maxRunning?: number;
  /** Transport retries per answer [3]. */
  postAttempts?: number;
}

export interface CommandChannelEvents {
  connected: [];
  failed: [reason: string, code: string | null];
  /** A command finished: `ok` false when it failed here or the console stopped it. */
  finished: [id: string, ok: boolean];
}

interface ResultBody {
  id: string;
  seq: number;
  data: unknown;
  done: boolean;
  error?: string;
}

/** Refusals after which retrying the same answer cannot help. */
const FINAL_CODES = new Set(['CONFLICT', 'NOT_FOUND', 'BAD_REQUEST', 'UNAUTHORIZED', 'FORBIDDEN']);
/** Ids of recent commands, to ignore a repeated delivery. */
const SEEN_MAX = 1_000;

export class CommandChannel extends EventEmitter<CommandChannelEvents> {
  private readonly stream: Resubscriber;
  private readonly maxRunning: number;
  private readonly postAttempts: number;
  private running = false;
  private lastFailure = '';
  private readonly active = new Map<string, Promise<void>>();
  private readonly seen = new Set<string>();

  constructor(private readonly opts: CommandChannelOptions) {
    super();
    this.stream = new Resubscriber({
      client: opts.client,
      path: 'agent.commands',
      input: () => ({}),
      backoff: opts.backoff,
      stableAfterMs: opts.stableAfterMs,
      onUp: () => {
        this.lastFailure = '';
        this.emit('connected');
      },
      onData: (value) => this.receive(value),
      onLost: (info) => this.lost(info),
    });
    this.maxRunning = opts.maxRunning ?? 8;
    this.postAttempts = opts.postAttempts ?? 3;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.stream.start();
  }

  /** Closes the stream; commands in progress stop after their current answer. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    this.stream.stop();
    await Promise.allSettled([...this.active.values()]);
  }

  /** Commands being run now. */
  get runningCount(): number {
    return this.active.size;
  }

  /** A refused credential is the desired-state link's to report; here a failure is only noted. */
  private lost({ reason, code, retryInMs }: LostInfo): void {
    if (reason !== this.lastFailure) this.opts.logger.debug('command stream down', { error: reason, retryInMs });
    this.lastFailure = reason;
    this.emit('failed', reason, code);
  }

  private receive(value: unknown): void {
    // A tracked event arrives as { id, data }; accept the bare payload too.
    const body = value && typeof value === 'object' && 'data' in value && 'id' in value ? (value as { data: unknown }).data : value;
    const r = agentCommandSchema.safeParse(body);
    const id = body && typeof body === 'object' && typeof (body as { id?: unknown }).id === 'string' ? (body as { id: string }).id : null;
    if (id === null) {
      this.opts.logger.error('the console sent a command without an id; ignored');
      return;
    }
    if (this.seen.has(id)) return;
    this.remember(id);
    if (!r.success) {
      const kind = String((body as { kind?: unknown }).kind);
      const issue = r.error.issues[0];
      const why = issue ? `${issue.path.join('.') || 'command'}: ${issue.message}` : 'unexpected shape';
      this.opts.logger.warn('command not understood', { id, kind, error: why });
      this.track(id, this.fail(id, 0, `agent ${this.opts.agentVersion} cannot run "${kind}" (${why})`));
      return;
    }
    if (this.active.size >= this.maxRunning) {
      this.track(id, this.fail(id, 0, `agent busy: already running ${this.active.size} commands`));
      return;
    }
    this.track(id, this.run(r.data));
  }

  private remember(id: string): void {
    this.seen.add(id);
    if (this.seen.size > SEEN_MAX) this.seen.delete(this.seen.values().next().value!);
  }

  private track(id: string, work: Promise<boolean>): void {
    const p = work
      .catch(() => false)
      .then((ok) => {
        this.active.delete(id);
        this.emit('finished', id, ok);
      });
    this.active.set(id, p);
  }

  private async run(cmd: AgentCommand): Promise<boolean> {
    const log = this.opts.logger;
    log.debug('command', { id: cmd.id, kind: cmd.kind });
    let seq = 0;
    try {
      for await (const out of executeCommand(this.opts.nodes, cmd)) {
        if (!this.running) return false; // leaving the loop stops the command (its probes end)
        if (!(await this.post({ id: cmd.id, seq, data: out.data, done: out.done }))) return false;
        seq++;
        if (out.done) return true;
      }
      return this.fail(cmd.id, seq, `${cmd.kind} ended without a final answer`);
    } catch (err) {
      const message = err instanceof CommandError ? err.message : `internal error: ${(err as Error).message}`;
      if (!(err instanceof CommandError)) log.error('command failed', { id: cmd.id, kind: cmd.kind, error: (err as Error).message });
      await this.fail(cmd.id, seq, message);
      return false;
    }
  }

  private async fail(id: string, seq: number, message: string): Promise<boolean> {
    await this.post({ id, seq, data: null, done: true, error: message.slice(0, COMMAND_ERROR_MAX_CHARS) });
    return false;
  }

  /** Posts one answer; false when the console refused it for good (the command must stop). */
  private async post(body: ResultBody, attempts = this.postAttempts): Promise<boolean> {
    for (let i = 0; i < attempts; i++) {
      try {
        await this.opts.client.mutation('agent.commandResult', body);
        return true;
      } catch (err) {
        const code = errorCode(err);
        if (code !== null && FINAL_CODES.has(code)) {
          this.opts.logger.warn('the console refused a command answer; the command stops', { id: body.id, seq: body.seq, error: describeError(err) });
          // An answer the console cannot take ends the command with a reason instead of leaving it to time out.
          if (code === 'BAD_REQUEST' && body.error === undefined) {
            await this.post({ id: body.id, seq: body.seq, data: null, done: true, error: `answer refused: ${describeError(err)}` }, 1);
          }
          return false;
        }
        if (i + 1 < attempts) await new Promise((res) => setTimeout(res, 200 * 2 ** i).unref());
      }
    }
    this.opts.logger.debug('command answer not delivered', { id: body.id, seq: body.seq });
    return false;
  }
}
