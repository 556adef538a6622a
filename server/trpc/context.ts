// Builds the tRPC context of one HTTP request: the process database, who is
// calling (session cookie, API token or host credential), the client address
// for the sign-in limiter, and whether the request came over HTTPS.
import { TRPCError } from '@trpc/server';
import { getDb, type Db } from '../db/index.ts';
import { AppError } from '../errors.ts';
import { resolveActor } from '../services/auth.ts';
import { ensureLivenessSweep } from '../services/hostLiveness.ts';
import { ensureKeyRotation } from '../services/keyRotation.ts';
import type { Context } from './context-types.ts';
import { mapDatabaseError } from './db-errors.ts';

export interface CreateContextOptions {
  req: Request;
  resHeaders: Headers;
}

/**
 * The client address. Next.js fills `x-forwarded-for` with the socket's
 * peer when the client sent none; a proxy in front appends the peer it saw.
 * So the last entry is the one a client cannot choose (a client may forge
 * earlier entries, never the one its own proxy appends).
 */
export function clientIpOf(headers: Headers): string | undefined {
  const xff = headers.get('x-forwarded-for');
  const last = xff?.split(',').map((s) => s.trim()).filter(Boolean).pop();
  if (!last || last.length > 64 || !/^[0-9A-Fa-f:.]+$/.test(last)) return undefined;
  return last.startsWith('::ffff:') && last.includes('.') ? last.slice(7) : last;
}

export function isSecureRequest(req: Request): boolean {
  const proto = req.headers.get('x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase();
  if (proto) return proto === 'https';
  try {
    return new URL(req.url).protocol === 'https:';
  } catch {
    return false;
  }
}

export async function createContext(opts: CreateContextOptions, db?: Db): Promise<Context> {
  const { req, resHeaders } = opts;
  try {
    const database = db ?? (await getDb());
    // Hosts whose agents went quiet turn offline even if no stream is open here.
    ensureLivenessSweep(database);
    // Scheduled key rotation and the next steps of rotations in progress.
    ensureKeyRotation(database);
    const actor = await resolveActor(database, {
      cookie: req.headers.get('cookie'),
      authorization: req.headers.get('authorization'),
    });
    return { db: database, actor, resHeaders, clientIp: clientIpOf(req.headers), secure: isSecureRequest(req) };
  } catch (err) {
    const mapped = err instanceof AppError ? err : mapDatabaseError(err);
    if (mapped?.code === 'SERVICE_UNAVAILABLE') {
      throw new TRPCError({ code: 'SERVICE_UNAVAILABLE', message: mapped.message, cause: mapped });
    }
    throw err;
  }
}
