// Builds the tRPC context of one HTTP request: the process database, who is
// calling (session cookie, API token or host credential), the client address
// for the sign-in limiter and the audit log, and whether the request came
// over HTTPS. The request is refused here, before any procedure runs, when it
// could be a cross-site forgery or carries too many calls (requestChecks.ts).
import { TRPCError } from '@trpc/server';
import type { TRPCRequestInfo } from '@trpc/server/http';
import { requestOrigin, trustedProxies, type RequestOrigin } from '../auth/clientAddress.ts';
import { getDb, type Db } from '../db/index.ts';
import { AppError } from '../errors.ts';
import { resolveActor } from '../identity/sessions.ts';
import { ensureLivenessSweep } from '../control/hostLiveness.ts';
import { ensureKeyRotation } from '../control/keyRotation.ts';
import type { Context } from './context-types.ts';
import { mapDatabaseError } from './db-errors.ts';
import { checkRequest } from './requestChecks.ts';

/** The TCP connection a request arrived on, as the server that accepted it saw it. */
export interface Connection {
  /** The peer's address; undefined when the server could not tell. */
  address: string | undefined;
  /** Whether the connection is TLS. */
  encrypted: boolean;
}

export interface CreateContextOptions {
  req: Request;
  resHeaders: Headers;
  /** The connection; without it the client address is unknown (never taken from a header alone). */
  connection: Connection | undefined;
  info?: TRPCRequestInfo | undefined;
}

/** Where the request came from: the connection, or what a trusted proxy in front of it says (SOFTUDC_TRUSTED_PROXIES). */
export function originOf(req: Request, connection: Connection | undefined): RequestOrigin & { viaProxy: boolean } {
  const trusted = trustedProxies();
  const origin = requestOrigin({
    peer: connection?.address,
    encrypted: connection?.encrypted ?? false,
    forwardedFor: req.headers.get('x-forwarded-for'),
    forwardedProto: req.headers.get('x-forwarded-proto'),
    trusted,
  });
  return { ...origin, viaProxy: connection?.address !== undefined && trusted.has(connection.address) };
}

export async function createContext(opts: CreateContextOptions, db?: Db): Promise<Context> {
  const { req, resHeaders } = opts;
  const origin = originOf(req, opts.connection);
  checkRequest(req, opts.info, origin.viaProxy);
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
    return { db: database, actor, resHeaders, clientIp: origin.address, secure: origin.secure };
  } catch (err) {
    const mapped = err instanceof AppError ? err : mapDatabaseError(err);
    if (mapped?.code === 'SERVICE_UNAVAILABLE') {
      throw new TRPCError({ code: 'SERVICE_UNAVAILABLE', message: mapped.message, cause: mapped });
    }
    throw err;
  }
}
