// Checks on a whole HTTP request, made once before any of its calls runs.
//
// Cross-site forgery. A browser sends the session cookie (SameSite=Lax) with
// any request from the same site — another port of the same host, a sibling
// subdomain — and with top-level form POSTs. Every procedure that changes
// anything is a mutation, and mutations are POST only (tRPC refuses a GET);
// so a POST must be `application/json` (a form can only send urlencoded,
// multipart or text/plain, and a script on another origin cannot send JSON
// without a CORS preflight this server never grants), and, unless it carries
// an Authorization header (which a forging page cannot know), its Origin and
// Sec-Fetch-Site headers, when the browser sends them, must say it comes
// from this console itself.
//
// Batches. One request may carry several calls, each with its own work (40
// sign-ins cost 40 password hashes); at most MAX_BATCH_CALLS.
//
// Bodies. A body is read whole and parsed before any call runs; one declared
// larger than MAX_BODY_BYTES is refused unread (handler.ts also stops one
// that turns out larger without saying so).
import { TRPCError } from '@trpc/server';
import type { TRPCRequestInfo } from '@trpc/server/http';
import { AppError } from '../errors.ts';
import { MAX_BATCH_CALLS, MAX_BODY_BYTES } from '../limits.ts';

/** Sec-Fetch-Site values of a request a page of this console (or no page at all: curl, a bookmark) made. */
const OWN_FETCH_SITES = new Set(['same-origin', 'none']);

export const bodyTooLarge = () => new TRPCError({ code: 'PAYLOAD_TOO_LARGE', message: `body: at most ${MAX_BODY_BYTES} bytes per request` });

function refuse(code: 'FORBIDDEN' | 'UNSUPPORTED_MEDIA_TYPE', message: string): never {
  throw new TRPCError({ code, message });
}

/** `host[:port]` as a URL would print it for `scheme` (default ports dropped), lower-case. */
function normalHost(host: string, scheme: string): string | null {
  try {
    return new URL(`${scheme}//${host}`).host.toLowerCase();
  } catch {
    return null;
  }
}

/** This console's own host as the client addressed it (a trusted proxy's X-Forwarded-Host, else Host). */
function ownHost(req: Request, viaProxy: boolean): string | null {
  const forwarded = viaProxy ? req.headers.get('x-forwarded-host')?.split(',')[0]?.trim() : undefined;
  return forwarded || req.headers.get('host');
}

export function checkRequest(req: Request, info: TRPCRequestInfo | undefined, viaProxy: boolean): void {
  const calls = info?.calls.length ?? 0;
  if (calls > MAX_BATCH_CALLS) {
    throw new TRPCError({
      code: 'BAD_REQUEST',
      message: `batch: at most ${MAX_BATCH_CALLS} calls per request (this one has ${calls}); send the rest in another request`,
      cause: new AppError('BAD_REQUEST', `batch: at most ${MAX_BATCH_CALLS} calls per request`, { field: 'batch', details: { max: MAX_BATCH_CALLS, calls } }),
    });
  }
  if (req.method !== 'POST') return;
  if (Number(req.headers.get('content-length') ?? 0) > MAX_BODY_BYTES) throw bodyTooLarge();
  const type = req.headers.get('content-type')?.split(';', 1)[0]?.trim().toLowerCase();
  if (type !== 'application/json') {
    refuse('UNSUPPORTED_MEDIA_TYPE', `content-type: mutations are sent as application/json (got ${type ? `"${type}"` : 'none'})`);
  }
  if (req.headers.has('authorization')) return;
  const site = req.headers.get('sec-fetch-site')?.toLowerCase();
  if (site && !OWN_FETCH_SITES.has(site)) {
    refuse('FORBIDDEN', `origin: a ${site} request is refused; mutations come only from this console's own pages or from API clients`);
  }
  const origin = req.headers.get('origin');
  if (origin === null) return;
  let from: URL | null = null;
  try {
    from = origin === 'null' ? null : new URL(origin);
  } catch {
    from = null;
  }
  const own = ownHost(req, viaProxy);
  if (!from || !own || from.host.toLowerCase() !== normalHost(own, from.protocol)) {
    refuse('FORBIDDEN', `origin: ${origin} is not this console; cross-site requests are refused`);
  }
}
