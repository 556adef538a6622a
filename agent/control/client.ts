// The agent's tRPC client for the console. Untyped on purpose: the agent must
// not import the console's router (a separate program, possibly a different
// version), so it names procedures by path and validates every answer itself.
// Subscriptions ride SSE (httpSubscriptionLink). Node 20 has no global
// EventSource, so the `eventsource` package supplies one whose fetch adds the
// host credential as a Bearer header (never in the URL, where proxies log it).
import {
  createTRPCUntypedClient,
  httpLink,
  httpSubscriptionLink,
  splitLink,
  type TRPCUntypedClient,
} from '@trpc/client';
import type { AnyRouter } from '@trpc/server';
import { EventSource, type FetchLike } from 'eventsource';
import superjson from 'superjson';

export type ConsoleClient = TRPCUntypedClient<AnyRouter>;

/** Where the console serves its API (app/api/trpc/[trpc]/route.ts). */
export const API_PATH = '/api/trpc';

export class ConsoleUrlError extends Error {
  readonly field = 'console';
  constructor(message: string) {
    super(message);
    this.name = 'ConsoleUrlError';
  }
}

/**
 * The console's base URL, normalised: http(s), no query, no trailing slash,
 * and without `/api/trpc` (accepted too, since operators paste either).
 */
export function normaliseConsoleUrl(text: string): string {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new ConsoleUrlError(`--console: "${text}" is not a URL (expected e.g. http://console.example:3000)`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new ConsoleUrlError(`--console: must be an http:// or https:// URL, got ${u.protocol}`);
  }
  if (u.username || u.password) throw new ConsoleUrlError('--console: must not carry a user name or password');
  let path = u.pathname.replace(/\/+$/, '');
  if (path.endsWith(API_PATH)) path = path.slice(0, -API_PATH.length);
  return `${u.protocol}//${u.host}${path}`;
}

export interface ConsoleClientOptions {
  /** Base URL (normaliseConsoleUrl). */
  url: string;
  /** Host credential (`sudh_…`); absent for the public enrollment call. */
  credential?: string;
  /** Per-request timeout for queries and mutations [10 s]; the subscription has none. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * The links of a client of the console's API with a Bearer credential: calls
 * over HTTP with a timeout, subscriptions over SSE. The agent's client is
 * untyped; the `softudc` CLI (cli/api.ts) builds its typed client on them.
 */
export function consoleLinks(opts: ConsoleClientOptions) {
  const url = opts.url + API_PATH;
  const auth: Record<string, string> = opts.credential ? { authorization: `Bearer ${opts.credential}` } : {};
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  // A redirect is an error, never followed: a 307/308 would resend the credential to wherever it points.
  const sseFetch: FetchLike = (input, init) => fetch(input, { ...init, headers: { ...init.headers, ...auth }, redirect: 'error' });
  return [
    splitLink<AnyRouter>({
      condition: (op) => op.type === 'subscription',
      true: httpSubscriptionLink({
        url,
        transformer: superjson,
        EventSource,
        eventSourceOptions: () => ({ fetch: sseFetch }),
      }),
      false: httpLink({
        url,
        transformer: superjson,
        headers: () => auth,
        // A console that accepts the connection and then hangs must not stall reports forever.
        fetch: (input, init) => fetch(input, { ...init, redirect: 'error', signal: withTimeout(init?.signal ?? undefined, timeoutMs) }),
      }),
    }),
  ];
}

export function createConsoleClient(opts: ConsoleClientOptions): ConsoleClient {
  return createTRPCUntypedClient<AnyRouter>({ links: consoleLinks(opts) });
}

function withTimeout(signal: AbortSignal | undefined, ms: number): AbortSignal {
  const t = AbortSignal.timeout(ms);
  return signal ? AbortSignal.any([signal, t]) : t;
}

/** The tRPC error code of a failed call (`UNAUTHORIZED`, `SERVICE_UNAVAILABLE`…), or null for transport failures. */
export function errorCode(err: unknown): string | null {
  const data = (err as { data?: { code?: unknown } } | null)?.data;
  return typeof data?.code === 'string' ? data.code : null;
}

/** A one-line description of a failed call, safe to log (no headers, no input). */
export function describeError(err: unknown): string {
  const code = errorCode(err);
  const msg = err instanceof Error ? err.message || err.name : String(err);
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : '';
  const text = code ? `${code}: ${msg}` : cause && cause !== msg ? `${msg} (${cause})` : msg;
  return text.replace(/\bsud[che]_[A-Za-z0-9_-]+/g, '[redacted]').slice(0, 300);
}
