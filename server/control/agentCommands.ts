// The command channel of the router manager: the console asks one host's
// agent to do something (show a router's tables, ping, traceroute) and the
// agent streams its answers back. The browser's request, the agent's command
// stream and the agent's answers may each land on a different console
// process, so everything goes through the database (AgentCommand rows) and
// the event bus (`agent.command`, `agent.command.result`, ids only):
//
//   startCommand       a row (pending) + NOTIFY agent.command {hostId, id}
//   commandStream      the agent's subscription: claims pending rows of its
//                      own host (pending -> running), one at a time, and yields them
//   handleCommandResult the agent's answers, appended in seq order, NOTIFY per answer
//   followCommand      the caller's side: every stored answer from a seq on,
//                      until done, failed or expired
//
// Timeouts: an online agent takes a command within COMMAND_PICKUP_MS, or the
// host counts as offline for it (PRECONDITION_FAILED); a command not finished
// by its deadline expires (TIMEOUT). Rows are deleted COMMAND_RETAIN_MS after
// their deadline (a resumed stream can still replay them until then).
// A stream that closes fails the commands it took and no answer came for
// (closeStream): the agent may never have received them.
// Longer than 300 lines: the channel's four sides share its statuses, limits
// and row shapes, and read best in one place.
import type { Prisma } from '../db/generated/client.ts';
import type { Db } from '../db/index.ts';
import { AppError, badRequest, conflict, notFound } from '../errors.ts';
import { EventInbox, getEventBus, publish } from '../events/index.ts';
import type { HostActor } from '../auth/actors.ts';
import { requireAgentHost } from './agentLink.ts';
import {
  agentCommandSchema, commandArgs, commandResultData, type AgentCommand, type CommandArgs, type CommandKind, type CommandResult,
} from '../../contract/commands.ts';
import { COMMAND_MAX_RESULT_BYTES } from '../../contract/limits.ts';
import { liveStatus, type HostStatus } from './hostLiveness.ts';

/** An online agent has its command stream open: it takes a new command well within this. */
export const COMMAND_PICKUP_MS = 5_000;
/** How long a table view may take on the agent. */
export const VIEW_DEADLINE_MS = 10_000;
/** Added to a probe's own duration (interval × count, or hops × timeout) for the round trips around it. */
export const DEADLINE_SLACK_MS = 5_000;
/** Finished commands are kept this long after their deadline (resumable streams), then deleted. */
export const COMMAND_RETAIN_MS = 10 * 60_000;
/** Unfinished commands per host at most: a burst of requests cannot queue unbounded work on an agent. */
export const MAX_OPEN_COMMANDS_PER_HOST = 16;
/** Expired rows are swept at most this often per process (on the next command started). */
const CLEANUP_EVERY_MS = 60_000;
/** A follower re-reads its row this often even without events (a lost notification costs at most this). */
const FOLLOW_RESYNC_MS = 2_000;
/** An agent's stream looks for pending commands this often even without events. */
export const STREAM_RESYNC_MS = 30_000;

const REVOKED = 'host credential is not valid (revoked or re-enrolled); enroll the agent again';

export type CommandStatus = 'pending' | 'running' | 'done' | 'failed' | 'expired';
const OPEN: CommandStatus[] = ['pending', 'running'];

export interface CommandHost {
  hostId: string;
  hostName: string;
}

/** How long `kind` may run on the agent before it expires. */
export function commandDeadlineMs<K extends CommandKind>(kind: K, args: CommandArgs[K]): number {
  switch (kind) {
    case 'router.ping': {
      const a = args as CommandArgs['router.ping'];
      return (a.count - 1) * a.intervalMs + a.timeoutMs + DEADLINE_SLACK_MS;
    }
    case 'router.traceroute': {
      const a = args as CommandArgs['router.traceroute'];
      return a.maxHops * a.timeoutMs + DEADLINE_SLACK_MS;
    }
    default:
      return VIEW_DEADLINE_MS;
  }
}

function notReachable(name: string, status: HostStatus, lastSeenAt: Date | null, now: Date): AppError {
  if (status === 'pending') return new AppError('PRECONDITION_FAILED', `host ${name} has no agent yet (never enrolled)`);
  if (status === 'revoked') return new AppError('PRECONDITION_FAILED', `host ${name} is revoked; enroll its agent again`);
  const ago = lastSeenAt ? `; its agent last reported ${Math.round((now.getTime() - lastSeenAt.getTime()) / 1000)} s ago` : '';
  return new AppError('PRECONDITION_FAILED', `host ${name} is offline${ago}`);
}

/** Queues a command for one host's agent. Refuses at once when the host is not online. */
export async function startCommand<K extends CommandKind>(o: {
  db: Db;
  host: CommandHost;
  kind: K;
  args: CommandArgs[K];
  createdById: string | null;
  now?: Date;
}): Promise<{ id: string; expiresAt: Date }> {
  const { db, host } = o;
  const now = o.now ?? new Date();
  const args = commandArgs[o.kind].parse(o.args) as Prisma.InputJsonValue;
  const row = await db.host.findUnique({ where: { id: host.hostId }, select: { name: true, status: true, lastSeenAt: true } });
  if (!row) throw new AppError('PRECONDITION_FAILED', `host ${host.hostName} no longer exists`);
  const status = liveStatus(row.status, row.lastSeenAt, now);
  if (status !== 'online') throw notReachable(row.name, status, row.lastSeenAt, now);
  const expiresAt = new Date(now.getTime() + commandDeadlineMs(o.kind, o.args));
  const created = await db.$transaction(async (tx) => {
    const open = await tx.agentCommand.count({ where: { hostId: host.hostId, status: { in: OPEN }, expiresAt: { gt: now } } });
    if (open >= MAX_OPEN_COMMANDS_PER_HOST) {
      throw new AppError('TOO_MANY_REQUESTS', `host ${row.name} is already running ${open} commands; try again when they finish`);
    }
    const c = await tx.agentCommand.create({
      data: { hostId: host.hostId, kind: o.kind, args, createdById: o.createdById, createdAt: now, expiresAt },
      select: { id: true, expiresAt: true },
    });
    // Delivered at commit: the agent never hears of a command that was rolled back.
    await publish(tx, { type: 'agent.command', hostId: host.hostId, commandId: c.id });
    return c;
  });
  void cleanupSoon(db, now);
  return created;
}

const lastCleanup = new WeakMap<Db, number>();

async function cleanupSoon(db: Db, now: Date): Promise<void> {
  if (now.getTime() - (lastCleanup.get(db) ?? 0) < CLEANUP_EVERY_MS) return;
  lastCleanup.set(db, now.getTime());
  try {
    await cleanupCommands({ db, now });
  } catch {
    // The database is busy or closing: the next command tries again.
  }
}

/** Deletes commands whose deadline passed more than COMMAND_RETAIN_MS ago; returns how many. */
export async function cleanupCommands(o: { db: Db; now?: Date }): Promise<number> {
  const now = o.now ?? new Date();
  const r = await o.db.agentCommand.deleteMany({ where: { expiresAt: { lt: new Date(now.getTime() - COMMAND_RETAIN_MS) } } });
  return r.count;
}

/**
 * Every answer of a command from `afterSeq + 1` on, as stored, until the
 * agent says done. Throws PRECONDITION_FAILED when the agent never took it
 * (offline) or reported an error, TIMEOUT when it did not finish in time.
 * Ends quietly when `signal` aborts (the command keeps running, bounded by
 * its deadline, so a reconnecting client can resume it).
 */
export async function* followCommand(o: {
  db: Db;
  id: string;
  hostName: string;
  afterSeq?: number;
  signal?: AbortSignal | undefined;
  pickupMs?: number;
}): AsyncGenerator<{ seq: number; data: unknown }> {
  const { db, id } = o;
  const pickupMs = o.pickupMs ?? COMMAND_PICKUP_MS;
  // Subscribe before the first read: an answer stored in between is not missed.
  const inbox = new EventInbox(await getEventBus(db), (e) => e.type === 'agent.command.result' && e.commandId === id);
  try {
    let next = (o.afterSeq ?? -1) + 1;
    for (;;) {
      const row = await db.agentCommand.findUnique({
        where: { id },
        select: { kind: true, status: true, results: true, error: true, createdAt: true, expiresAt: true },
      });
      if (!row) throw new AppError('PRECONDITION_FAILED', `the command to host ${o.hostName} is gone (it ended long ago)`);
      const results = Array.isArray(row.results) ? row.results : [];
      for (; next < results.length; next++) yield { seq: next, data: results[next] };
      const status = row.status as CommandStatus;
      if (status === 'done') return;
      if (status === 'failed') throw new AppError('PRECONDITION_FAILED', row.error ?? `host ${o.hostName} could not run ${row.kind}`);
      if (status === 'expired') throw new AppError('TIMEOUT', row.error ?? `host ${o.hostName} did not finish ${row.kind} in time`);
      const now = Date.now();
      const pickupBy = row.createdAt.getTime() + pickupMs;
      if (status === 'pending' && now >= pickupBy) {
        const msg = `host ${o.hostName} is offline: its agent did not take the command within ${(pickupMs / 1000).toFixed(0)} s`;
        const r = await db.agentCommand.updateMany({ where: { id, status: 'pending' }, data: { status: 'failed', error: msg } });
        if (r.count === 1) throw new AppError('PRECONDITION_FAILED', msg);
        continue; // taken meanwhile: read it again
      }
      if (now >= row.expiresAt.getTime()) {
        const secs = Math.round((row.expiresAt.getTime() - row.createdAt.getTime()) / 1000);
        const msg = `host ${o.hostName} did not finish ${row.kind} within ${secs} s`;
        const r = await db.agentCommand.updateMany({ where: { id, status: { in: OPEN } }, data: { status: 'expired', error: msg } });
        if (r.count === 1) throw new AppError('TIMEOUT', msg);
        continue; // finished meanwhile
      }
      const wakeAt = Math.min(status === 'pending' ? pickupBy : row.expiresAt.getTime(), now + FOLLOW_RESYNC_MS);
      await inbox.next({ signal: o.signal, timeoutMs: Math.max(1, wakeAt - now) });
      if (o.signal?.aborted) return;
    }
  } finally {
    inbox.close();
  }
}

/** Claims one pending command of the host (pending -> running); null when another stream took it first. */
async function claim(db: Db, hostId: string, id: string, now: Date): Promise<AgentCommand | null> {
  const r = await db.agentCommand.updateMany({
    where: { id, hostId, status: 'pending', expiresAt: { gt: now } },
    data: { status: 'running' },
  });
  if (r.count !== 1) return null;
  const row = await db.agentCommand.findUnique({ where: { id }, select: { id: true, kind: true, args: true, expiresAt: true } });
  if (!row) return null;
  const parsed = agentCommandSchema.safeParse(row);
  if (parsed.success) return parsed.data;
  // Stored by an older or newer console with other arguments: fail it rather than send it.
  await db.agentCommand.updateMany({ where: { id }, data: { status: 'failed', error: `command ${row.kind} has arguments this console cannot send` } });
  return null;
}

/**
 * The agent's command stream: its own host's pending commands, oldest
 * first, each claimed just before it is yielded (a command is given to one
 * stream only), then every new one as it is queued. Throws UNAUTHORIZED
 * once the credential is revoked. No input can name another host.
 */
export async function* commandStream(o: { db: Db; actor: HostActor; signal?: AbortSignal | undefined }): AsyncGenerator<AgentCommand> {
  const { db, actor } = o;
  const inbox = new EventInbox(
    await getEventBus(db),
    (e) => (e.type === 'agent.command' || e.type === 'host.revoked') && e.hostId === actor.hostId,
  );
  // Commands this stream took and handed on: when the stream ends before the agent answered one
  // (the agent died, or its connection did, while the command was on its way), that command is failed
  // at once rather than left running until its deadline (closeStream).
  const taken: string[] = [];
  // On abort, not only in `finally`: a generator whose consumer went away may never be resumed.
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    void closeStream(db, actor, taken);
  };
  o.signal?.addEventListener('abort', close, { once: true });
  try {
    await requireAgentHost(db, actor.hostId);
    while (!o.signal?.aborted) {
      const now = new Date();
      const pending = await db.agentCommand.findMany({
        where: { hostId: actor.hostId, status: 'pending', expiresAt: { gt: now } },
        select: { id: true },
        orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
        take: MAX_OPEN_COMMANDS_PER_HOST,
      });
      for (const p of pending) {
        const c = await claim(db, actor.hostId, p.id, new Date());
        if (c && o.signal?.aborted) {
          // Claimed as the stream closed: it never went out, so it is pending again (the pickup time decides).
          await db.agentCommand.updateMany({ where: { id: c.id, status: 'running', resultCount: 0 }, data: { status: 'pending' } });
          return;
        }
        if (c) {
          taken.push(c.id);
          if (taken.length > MAX_OPEN_COMMANDS_PER_HOST) taken.shift();
          yield c;
        }
      }
      const events = await inbox.next({ signal: o.signal, timeoutMs: STREAM_RESYNC_MS });
      if (o.signal?.aborted) return;
      // As on the desired-state stream: a revoked or re-enrolled credential loses the stream at once.
      if (events.some((e) => e.type === 'host.revoked')) throw new AppError('UNAUTHORIZED', REVOKED);
    }
  } finally {
    o.signal?.removeEventListener('abort', close);
    inbox.close();
    close();
  }
}

/**
 * A command stream ended: of the commands it took, those still running
 * without a single answer are failed (PRECONDITION_FAILED for the caller),
 * since the agent may never have received them. One the agent did get and
 * answers later is refused with CONFLICT, which tells it to stop. Commands
 * with answers keep running until their deadline: the agent is working on
 * them and answers over its own requests, not over this stream.
 */
async function closeStream(db: Db, actor: HostActor, taken: string[]): Promise<void> {
  if (taken.length === 0) return;
  const error = `host ${actor.hostName} is offline: its agent's command stream closed before it answered`;
  try {
    const ended = await db.agentCommand.findMany({
      where: { id: { in: taken }, hostId: actor.hostId, status: 'running', resultCount: 0 },
      select: { id: true },
    });
    for (const { id } of ended) {
      const r = await db.agentCommand.updateMany({ where: { id, status: 'running', resultCount: 0 }, data: { status: 'failed', error } });
      if (r.count === 1) await publish(db, { type: 'agent.command.result', commandId: id, seq: 0 });
    }
  } catch {
    // The database is unreachable: the command's deadline ends it instead.
  }
}

function checkAnswer(kind: CommandKind, data: unknown, done: boolean): unknown {
  const r = commandResultData[kind].safeParse(data);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const path = ['data', ...issue.path.map(String)].join('.');
    throw badRequest(path, `${issue.message} (an answer to ${kind})`);
  }
  const value = r.data as { type?: string };
  if (kind === 'router.view' || kind === 'firewall.view' || kind === 'trace.lookup') {
    if (!done) throw badRequest('done', `${kind} is answered once, with done: true`);
  } else if ((value.type === 'summary') !== done) {
    throw badRequest('done', done ? `the last answer to ${kind} is its summary` : `the summary is the last answer to ${kind} (done: true)`);
  }
  if (JSON.stringify(r.data).length > COMMAND_MAX_RESULT_BYTES) throw badRequest('data', `larger than ${COMMAND_MAX_RESULT_BYTES} bytes`);
  return r.data;
}

/**
 * One answer from the agent. Only the host the command was queued for may
 * answer it: another host's command id is NOT_FOUND, like an unknown one.
 * Answers carry seq 0, 1, 2, …; a repeated seq (a retried request) is
 * accepted once and then ignored; a gap or an answer to an ended command is
 * CONFLICT, which tells the agent to stop.
 */
export async function handleCommandResult(o: { db: Db; actor: HostActor; result: CommandResult; now?: Date }): Promise<{ accepted: boolean }> {
  const { db, actor, result } = o;
  const now = o.now ?? new Date();
  return db.$transaction(async (tx) => {
    await requireAgentHost(tx, actor.hostId);
    const row = await tx.agentCommand.findFirst({
      where: { id: result.id, hostId: actor.hostId },
      select: { kind: true, status: true, results: true, resultCount: true, expiresAt: true },
    });
    if (!row) throw notFound('command', 'id');
    if (result.seq < row.resultCount) return { accepted: false };
    const status = row.status as CommandStatus;
    if (!OPEN.includes(status)) throw conflict('id', `the command has ended (${status}); stop working on it`);
    if (row.expiresAt.getTime() <= now.getTime()) throw conflict('id', 'the command is past its deadline; stop working on it');
    if (result.seq > row.resultCount) throw conflict('seq', `expected seq ${row.resultCount}, got ${result.seq}`);
    const kind = row.kind as CommandKind;
    let data: Prisma.InputJsonValue;
    if (result.error) {
      data = { status: 'failed', error: `host ${actor.hostName}: ${result.error}` };
    } else {
      const answer = checkAnswer(kind, result.data, result.done);
      const results = (Array.isArray(row.results) ? row.results : []) as Prisma.InputJsonValue[];
      data = { status: result.done ? 'done' : 'running', results: [...results, answer as Prisma.InputJsonValue], resultCount: result.seq + 1 };
    }
    // Guarded by the count read above: of two answers with one seq, one wins.
    const r = await tx.agentCommand.updateMany({
      where: { id: result.id, resultCount: row.resultCount, status: { in: OPEN } },
      data: data as Prisma.AgentCommandUpdateManyMutationInput,
    });
    if (r.count !== 1) throw conflict('seq', `another answer with seq ${result.seq} was stored at the same time`);
    await publish(tx, { type: 'agent.command.result', commandId: result.id, seq: result.seq });
    return { accepted: true };
  });
}
