// The API over HTTP, the one way in for both servers that serve it: the
// Next.js route (app/api/trpc, behind scripts/serve.mjs) and the plain
// node:http server of tests and benchmarks (server/serve/http.ts). Each hands over
// the request and the connection it came on; the rest is the same.
import { fetchRequestHandler } from '@trpc/server/adapters/fetch';
import type { Db, RawDb } from '../db/index.ts';
import { appRouter } from '../routers/_app.ts';
import { MAX_BODY_BYTES } from '../limits.ts';
import { createContext, type Connection } from '../trpc/context.ts';
import { logApiError } from '../trpc/error-log.ts';
import { bodyTooLarge } from '../trpc/requestChecks.ts';
import { serveHotRead, type HotAnswer } from './hotReads.ts';
import { leanReportCredential, serveLeanReport } from './leanReport.ts';
import { leanDesiredCall, openLeanDesired, type LeanDesiredStream } from './leanDesired.ts';

export const API_PATH = '/api/trpc';

/**
 * What every API answer carries: it is data, never a page to render, frame
 * or sniff into something else. (Pages get theirs from next.config.ts.)
 */
export const API_SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/**
 * A response body that runs `onEnd` once it has been read to its end or
 * cancelled. tRPC ends a subscription's stream when the procedure's
 * generator ends or throws, but does not abort the signal the procedure was
 * given; with this the request's own signal aborts too, so whatever the
 * procedure still awaits (an event, a database notification) lets go.
 */
function endsWith(response: Response, onEnd: () => void): Response {
  if (!response.body) {
    onEnd();
    return response;
  }
  const reader = response.body.getReader();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const chunk = await reader.read();
        if (chunk.done) {
          controller.close();
          onEnd();
        } else controller.enqueue(chunk.value);
      } catch (err) {
        onEnd();
        controller.error(err);
      }
    },
    async cancel(reason) {
      onEnd();
      await reader.cancel(reason);
    },
  });
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}

/** The body, failing once more than MAX_BODY_BYTES have come (a body need not declare its length). */
function capped(body: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  let seen = 0;
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.byteLength;
        if (seen > MAX_BODY_BYTES) controller.error(bodyTooLarge());
        else controller.enqueue(chunk);
      },
    }),
  );
}

/** A hot read's answer (hotReads.ts) with the headers every API answer carries. */
export function hotHeaders(hot: HotAnswer): Record<string, string> {
  return { ...hot.headers, ...API_SECURITY_HEADERS };
}

export interface ServeOptions {
  connection: Connection | undefined;
  db?: Db | undefined;
  /** The driver behind `db` (the lean read path's raw queries); without it, a given `db` is served by tRPC only. */
  raw?: RawDb | undefined;
}

/** Any API request: the lean path of the hot reads, agents' reports and agents' desired-state streams when it answers, else tRPC. */
export async function serveApi(req: Request, o: ServeOptions): Promise<Response> {
  const url = new URL(req.url);
  const own = o.db && o.raw ? { prisma: o.db, raw: o.raw } : undefined;
  const lean = !o.db || own;
  const hotReq = { method: req.method, url: url.pathname + url.search, header: (n: string) => req.headers.get(n) };
  const credential = lean ? leanReportCredential(hotReq, API_PATH) : null;
  if (credential && req.body) {
    const body = Buffer.from(await req.arrayBuffer());
    const hot = await serveLeanReport(credential, body, own);
    if (hot) return new Response(hot.body ? new Uint8Array(hot.body) : null, { status: hot.status, headers: hotHeaders(hot) });
    const again = new Request(req.url, { method: req.method, headers: req.headers, body: new Uint8Array(body), signal: req.signal });
    return serveTrpc(again, o);
  }
  const call = lean ? leanDesiredCall(hotReq, API_PATH) : null;
  const stream = call ? await openLeanDesired(call, own) : null;
  if (stream) return streamResponse(stream, req);
  const hot = lean && !call ? await serveHotRead(hotReq, API_PATH, own) : null;
  if (hot) return new Response(hot.body ? new Uint8Array(hot.body) : null, { status: hot.status, headers: hotHeaders(hot) });
  return serveTrpc(req, o);
}

/**
 * The Request objects whose responses are still being sent. A Request made
 * with a `signal` follows it only while the Request itself is alive: Node's
 * fetch (undici) holds the Request's own AbortController weakly in the
 * listener it adds to the given signal. Once tRPC has started a
 * subscription nothing references the Request any more, only its signal
 * (the procedure's), so after a garbage collection the client's disconnect
 * no longer reached the procedure: an agent's command stream outlived its
 * connection and took commands no one would answer. Held here from the
 * request until its response body ends or is cancelled.
 */
const streaming = new Set<Request>();

/**
 * An agent's desired-state stream on the lean path as a fetch Response; it ends when the request's
 * signal aborts or the body is cancelled. The Request is held until then (see `streaming`): its signal
 * follows the connection only while the Request is alive.
 */
function streamResponse(stream: LeanDesiredStream, req: Request): Response {
  const abort = new AbortController();
  const requestSignal = req.signal;
  // A reader that does not keep up holds the next event back (as a full socket does on node:http):
  // a write past the queue's one chunk waits for the reader's next pull, or for the end.
  let wake: (() => void) | undefined;
  const resume = () => {
    wake?.();
    wake = undefined;
  };
  streaming.add(req);
  const stop = () => {
    streaming.delete(req);
    abort.abort();
    resume();
  };
  requestSignal.addEventListener('abort', stop, { once: true });
  if (requestSignal.aborted) stop();
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      void stream.run(
        {
          write: (event) => {
            if (abort.signal.aborted) return;
            controller.enqueue(encoder.encode(event));
            if ((controller.desiredSize ?? 1) > 0) return;
            return new Promise<void>((resolve) => {
              wake = resolve;
            });
          },
          end: () => {
            requestSignal.removeEventListener('abort', stop);
            streaming.delete(req);
            if (!abort.signal.aborted) controller.close();
          },
        },
        abort.signal,
      );
    },
    pull: resume,
    cancel: stop,
  });
  return new Response(body, { status: 200, headers: { ...stream.headers, ...API_SECURITY_HEADERS } });
}

/** An API request through tRPC. */
export async function serveTrpc(req: Request, o: ServeOptions): Promise<Response> {
  const ended = new AbortController();
  const signal = AbortSignal.any([req.signal, ended.signal]);
  const request = req.body
    ? new Request(req.url, { method: req.method, headers: req.headers, body: capped(req.body), signal, duplex: 'half' } as RequestInit)
    : new Request(req, { signal });
  // Both links of the chain, the caller's Request (following its connection) and tRPC's (following `signal`).
  streaming.add(req).add(request);
  const done = () => {
    streaming.delete(req);
    streaming.delete(request);
    ended.abort();
  };
  let response: Response;
  try {
    response = await fetchRequestHandler({
      endpoint: API_PATH,
      req: request,
      router: appRouter,
      createContext: ({ req: r, resHeaders, info }) => createContext({ req: r, resHeaders, info, connection: o.connection }, o.db),
      onError: ({ error, path, type }) => logApiError({ error, path, type }),
    });
  } catch (err) {
    done();
    throw err;
  }
  for (const [k, v] of Object.entries(API_SECURITY_HEADERS)) response.headers.set(k, v);
  return endsWith(response, done);
}
