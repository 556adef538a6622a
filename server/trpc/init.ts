// tRPC root: context type, error formatting, and the procedure builders every
// router uses. Role and tenant checks start here; services re-check tenancy on
// every entity they load (a farm id from another tenant is NOT_FOUND).
import { initTRPC, TRPCError } from '@trpc/server';
import { ZodError } from 'zod';
import { AppError } from '../errors.ts';
import { mapDatabaseError } from './db-errors.ts';
import type { HostActor, UserActor } from '../auth/actors.ts';
import type { Context } from './context-types.ts';
import { isAsyncIterable, whileCredentialHolds } from './streamGuard.ts';
import { transformer } from './transformer.ts';

export type { HostActor, Role, UserActor } from '../auth/actors.ts';
export type { Context } from './context-types.ts';

const t = initTRPC.context<Context>().create({
  transformer,
  // Subscriptions (agents' desired state, progress, reports) run over SSE.
  // A ping every 5 s keeps idle streams alive through proxies; a client that
  // hears nothing for 15 s (three pings) reconnects with its last event id.
  sse: { ping: { enabled: true, intervalMs: 5_000 }, client: { reconnectAfterInactivityMs: 15_000 } },
  errorFormatter({ shape, error }) {
    const cause = error.cause;
    let field: string | null = null;
    let details: unknown = null;
    let issues: { path: string; message: string }[] | null = null;
    if (cause instanceof AppError) {
      field = cause.field ?? null;
      details = cause.details ?? null;
    } else if (cause instanceof ZodError) {
      issues = cause.issues.map((i) => {
        // An unknown key is reported on its parent; name the key itself.
        const keys = i.code === 'unrecognized_keys' ? i.keys : [];
        const path = [...i.path.map(String), ...keys.slice(0, 1)].join('.');
        return { path, message: i.message };
      });
      field = issues[0]?.path ?? null;
      const first = issues[0];
      const message = first ? `${first.path || 'input'}: ${first.message}` : shape.message;
      return { ...shape, message, data: { ...shape.data, stack: undefined, field, details, issues } };
    } else if (error.code === 'INTERNAL_SERVER_ERROR') {
      // Unexpected failures are logged server-side; callers get no internals.
      return { ...shape, message: 'internal error', data: { ...shape.data, stack: undefined, field, details, issues } };
    }
    return { ...shape, data: { ...shape.data, stack: undefined, field, details, issues } };
  },
});

const TRPC_CODE: Record<AppError['code'], TRPCError['code']> = {
  BAD_REQUEST: 'BAD_REQUEST',
  UNAUTHORIZED: 'UNAUTHORIZED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  PRECONDITION_FAILED: 'PRECONDITION_FAILED',
  TOO_MANY_REQUESTS: 'TOO_MANY_REQUESTS',
  TIMEOUT: 'TIMEOUT',
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  INTERNAL: 'INTERNAL_SERVER_ERROR',
};

export function toTRPCError(err: unknown): unknown {
  if (err instanceof TRPCError) {
    // tRPC wraps whatever a procedure threw; unwrap to map domain and database errors.
    if (err.cause instanceof AppError) return toTRPCError(err.cause);
    if (err.code === 'INTERNAL_SERVER_ERROR' && err.cause) {
      const db = mapDatabaseError(err.cause);
      if (db) return toTRPCError(db);
    }
    return err;
  }
  const app = err instanceof AppError ? err : mapDatabaseError(err);
  if (app) return new TRPCError({ code: TRPC_CODE[app.code], message: app.message, cause: app });
  return err;
}

/** The one place domain and database errors become tRPC errors. */
const errorMapping = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok) {
    const mapped = toTRPCError(result.error);
    if (mapped !== result.error && mapped instanceof TRPCError) throw mapped;
  }
  return result;
});

/**
 * A subscription's stream ends as soon as the credential it was opened with
 * no longer holds (streamGuard.ts); queries and mutations are checked when
 * they arrive, which is enough for them.
 */
const streamsEndWithCredential = t.middleware(async ({ ctx, type, next }) => {
  const result = await next();
  if (type !== 'subscription' || !result.ok || !ctx.actor || !isAsyncIterable(result.data)) return result;
  return { ...result, data: whileCredentialHolds(ctx.db, ctx.actor, result.data) };
});

export const router = t.router;
export const mergeRouters = t.mergeRouters;
export const createCallerFactory = t.createCallerFactory;
export const middleware = t.middleware;

export const publicProcedure = t.procedure.use(errorMapping).use(streamsEndWithCredential);

/** Any signed-in user or API token. */
export const authedProcedure = publicProcedure.use(({ ctx, next }) => {
  const actor = ctx.actor;
  if (!actor || actor.kind === 'host') throw new TRPCError({ code: 'UNAUTHORIZED', message: 'sign in or send an API token' });
  return next({ ctx: { ...ctx, actor: actor as UserActor } });
});

export const viewerProcedure = authedProcedure;

export const operatorProcedure = authedProcedure.use(({ ctx, next }) => {
  if (ctx.actor.role === 'viewer') throw new TRPCError({ code: 'FORBIDDEN', message: 'viewers cannot change anything' });
  return next();
});

export const adminProcedure = authedProcedure.use(({ ctx, next }) => {
  if (ctx.actor.role !== 'admin') throw new TRPCError({ code: 'FORBIDDEN', message: 'only admins can do this' });
  return next();
});

/** An agent presenting its host credential: it may only touch its own host. */
export const hostProcedure = publicProcedure.use(({ ctx, next }) => {
  const actor = ctx.actor;
  if (!actor || actor.kind !== 'host') throw new TRPCError({ code: 'UNAUTHORIZED', message: 'host credential required' });
  return next({ ctx: { ...ctx, actor: actor as HostActor } });
});
