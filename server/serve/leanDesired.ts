// The lean path of the agent's desired-state stream, `GET /api/trpc/agent.desired`:
// a deploy to a fleet sends a new state on a thousand of these at once. Served
// without tRPC's per-request and per-message machinery (Request and Response
// objects, web streams, a second contract check and a superjson pass over every
// document sent): the document goes out as Postgres gives its text, spliced
// into the message (desiredReads.ts readDesiredTextIfNewer).
//
// Same URL, same stream as tRPC's (server/routers/agent/desired.ts through
// tRPC's sseStreamProducer): the `connected` event with the client options,
// each state as a tracked event (`id:` its generation) whose data is the
// superjson envelope of `{generation, state}`, a `ping` event after each
// ping interval without one, `serialized-error` with tRPC's error shape when
// the stream fails (a revoked host: UNAUTHORIZED, as the agent expects), and
// resumption from `Last-Event-ID` (header or query) or the `lastGeneration`
// input. The stream itself is the procedure's (agentLink.ts desiredStream,
// inside whileCredentialHolds like every subscription), only its reads are
// of text. The document is not checked against the contract again on its
// way out: recomputeDesired (desiredState.ts), the one writer of
// HostDesiredState, checks every document before storing it.
//
// The checks are the procedure's own: a host credential in the Authorization
// header whose host is not revoked (the lookup resolveActor makes), and an
// input the procedure's schema takes. Whatever this path does not take — no
// credential or another kind, an unknown or revoked one, another query
// parameter, an input the schema refuses, a database error before the stream
// starts — goes to tRPC, which answers it as before.
import { getErrorShape, getTRPCErrorFromUnknown, isAbortError } from '@trpc/server/unstable-core-do-not-import';
import { desiredTexts } from '../control/agentLink.ts';
import { ensureLivenessSweep } from '../control/hostLiveness.ts';
import { ensureKeyRotation } from '../control/keyRotation.ts';
import { getDatabase, type Db, type RawDb } from '../db/index.ts';
import { HOST_CREDENTIAL_PREFIX, hashToken } from '../auth/tokens.ts';
import type { HostActor } from '../auth/actors.ts';
import { appRouter } from '../routers/_app.ts';
import { desiredInput, resumeFrom } from '../routers/agent/desired.types.ts';
import { toTRPCError } from '../trpc/init.ts';
import { logApiError } from '../trpc/error-log.ts';
import { whileCredentialHolds } from '../trpc/streamGuard.ts';
import { transformer } from '../trpc/transformer.ts';
import type { HotRequest } from './hotReads.ts';
import { bearerToken, sqlOf } from './leanAuth.ts';

const PATH = 'agent.desired';
/** The query parameters of the tRPC subscription link; anything else goes to tRPC. */
const QUERY = new Set(['input', 'lastEventId', 'Last-Event-Id']);

/** What the lean path takes of a request: the credential and the procedure's input. */
export interface LeanDesiredCall {
  credential: string;
  input: { lastGeneration?: number | undefined; lastEventId?: string | null | undefined };
}

/**
 * The call a request makes when the lean path may take it (before anything
 * is read from the database), else null. The input as tRPC makes it: the
 * `input` query parameter through the transformer, the last event id (the
 * Last-Event-ID header, else the query) added to it.
 */
export function leanDesiredCall(req: HotRequest, prefix: string): LeanDesiredCall | null {
  if (req.method !== 'GET') return null;
  const token = bearerToken(req.header('authorization'));
  if (!token?.startsWith(HOST_CREDENTIAL_PREFIX)) return null;
  let url: URL;
  try {
    url = new URL(req.url, 'http://console');
  } catch {
    return null;
  }
  if (url.pathname !== `${prefix}/${PATH}`) return null;
  const names = [...url.searchParams.keys()];
  if (names.some((n) => !QUERY.has(n)) || new Set(names).size !== names.length) return null;
  try {
    const query = url.searchParams.get('input');
    let input: unknown = query ? transformer.input.deserialize(JSON.parse(query)) : undefined;
    const lastEventId = req.header('last-event-id') ?? url.searchParams.get('lastEventId') ?? url.searchParams.get('Last-Event-Id');
    if (lastEventId) {
      if (typeof input === 'object' && input !== null && !Array.isArray(input)) input = { ...input, lastEventId };
      else input ??= { lastEventId };
    }
    const parsed = desiredInput.safeParse(input);
    return parsed.success ? { credential: token, input: parsed.data } : null;
  } catch {
    return null;
  }
}

/** Where the stream's events go: each a whole SSE event; a promise when the connection is full. */
export interface SseSink {
  write(event: string): void | Promise<void>;
  end(): void;
}

export interface LeanDesiredStream {
  /** tRPC's headers of an SSE answer (the caller adds the API's own). */
  headers: Record<string, string>;
  /** Sends the stream until it fails or `signal` aborts, then ends the sink. Never throws. */
  run(sink: SseSink, signal: AbortSignal): Promise<void>;
}

// resolveActor's lookup of a host credential (server/identity/sessions.ts resolveHost).
const HOST_SQL = `SELECT id::text AS id, name FROM "Host" WHERE "credentialHash" = $1 AND status <> 'revoked'`;

const config = appRouter._def._config;
const SSE_HEADERS: Record<string, string> = {
  'content-type': 'text/event-stream',
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
  connection: 'keep-alive',
  vary: 'trpc-accept, accept',
};
const CONNECTED = `event: connected\ndata: ${JSON.stringify(config.sse?.client ?? {})}\n\n\n`;
const PING = 'event: ping\ndata: \n\n\n';
const RETURN = 'event: return\ndata: \n\n\n';
const PING_MS = config.sse?.ping?.enabled ? (config.sse.ping.intervalMs ?? 1000) : Infinity;

/** tRPC's event for a state: the superjson envelope of `{generation, state}` (plain JSON: `{"json": …}`), tracked by generation. */
function stateEvent(generation: number, state: string): string {
  return `data: {"json":{"generation":${generation},"state":${state}}}\nid: ${generation}\n\n\n`;
}

/**
 * The stream of the host whose credential the call presents, or null when
 * no live host holds it (or the lookup failed): tRPC answers then.
 */
export async function openLeanDesired(call: LeanDesiredCall, db?: { prisma: Db; raw: RawDb }): Promise<LeanDesiredStream | null> {
  let prisma: Db;
  let host: { id: string; name: string } | undefined;
  const credentialHash = hashToken(call.credential);
  try {
    const d = db ?? (await getDatabase());
    prisma = d.prisma;
    ensureLivenessSweep(prisma);
    ensureKeyRotation(prisma);
    host = (await sqlOf(d.raw)<{ id: string; name: string }>('lean_desired_host', HOST_SQL, [credentialHash]))[0];
  } catch {
    return null;
  }
  if (!host) return null;
  const actor: HostActor = { kind: 'host', hostId: host.id, hostName: host.name, credentialHash };
  return {
    headers: SSE_HEADERS,
    async run(sink, signal) {
      let ping: NodeJS.Timeout | undefined;
      // A write the connection holds back (a reader that does not keep up): no ping is queued behind it.
      let held = false;
      const send = async (event: string) => {
        const wait = sink.write(event);
        if (!wait) return;
        held = true;
        try {
          await wait;
        } finally {
          held = false;
        }
      };
      const armPing = () => {
        clearTimeout(ping);
        if (PING_MS === Infinity || signal.aborted) return;
        ping = setTimeout(() => {
          if (!held) void send(PING);
          armPing();
        }, PING_MS);
      };
      try {
        await send(CONNECTED);
        armPing();
        const updates = desiredTexts({ db: prisma, actor, lastGeneration: resumeFrom(call.input), signal });
        for await (const d of whileCredentialHolds(prisma, actor, updates)) {
          clearTimeout(ping);
          await send(stateEvent(d.generation, d.state));
          armPing();
        }
        if (!signal.aborted) await send(RETURN);
      } catch (err) {
        if (isAbortError(err) || signal.aborted) return;
        // What tRPC sends when a subscription fails: its error shape, through the transformer, and its log line.
        const error = getTRPCErrorFromUnknown(toTRPCError(err));
        logApiError({ error, path: PATH, type: 'subscription' });
        const shape = getErrorShape({ config, error, type: 'subscription', path: PATH, input: call.input, ctx: undefined });
        await Promise.resolve(sink.write(`event: serialized-error\ndata: ${JSON.stringify(transformer.output.serialize(shape))}\n\n\n`)).catch(() => undefined);
      } finally {
        clearTimeout(ping);
        sink.end();
      }
    },
  };
}
