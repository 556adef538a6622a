// Fixture for the identity and infrastructure API tests: a fresh database
// (Postgres with DATABASE_URL, else in-memory PGlite), tenants A and B with
// users of every role (setupApi), callers through the root router, and
// helpers to assert refusals by tRPC code and formatted `data.field`.
import { expect } from 'vitest';
import { TRPCError } from '@trpc/server';
import { getErrorShape } from '@trpc/server/unstable-core-do-not-import';
import { setupApi, type ApiFixture } from './api.ts';
import { appRouter } from '../server/routers/_app.ts';
import type { Context } from '../server/trpc/context-types.ts';
import { createCallerFactory } from '../server/trpc/init.ts';

const createCaller = createCallerFactory(appRouter);

export interface IdentityFixture extends ApiFixture {
  /** A caller whose context also carries response headers, client address and scheme (login/logout). */
  httpCaller(actor: Context['actor'], opts?: { clientIp?: string; secure?: boolean }): {
    caller: ReturnType<typeof createCaller>;
    resHeaders: Headers;
  };
  /** Every users/tokens/hosts/segments/enrollment row, to prove a refused call changed nothing. */
  snapshot(): Promise<unknown>;
}

export async function setupIdentityApi(): Promise<IdentityFixture> {
  const api = await setupApi();
  const { db } = api;
  return {
    ...api,
    httpCaller(actor, opts = {}) {
      const resHeaders = new Headers();
      return { caller: createCaller({ db, actor, resHeaders, clientIp: opts.clientIp, secure: opts.secure ?? false }), resHeaders };
    },
    async snapshot() {
      const byId = { orderBy: { id: 'asc' as const } };
      return {
        users: await db.user.findMany({ ...byId }),
        sessions: await db.session.findMany({ ...byId }),
        tokens: await db.apiToken.findMany({ ...byId }),
        hosts: await db.host.findMany({ ...byId }),
        segments: await db.lanSegment.findMany({ ...byId }),
        enrollment: await db.enrollmentToken.findMany({ ...byId }),
      };
    },
  };
}

/** The error shape a client would receive (errorFormatter applied), including `data.field`. */
export function shapeOf(err: TRPCError): { code: string; message: string; data: { code: string; field: string | null; details: unknown } } {
  const shape = getErrorShape({ config: appRouter._def._config, error: err, type: 'mutation', path: 'test', input: undefined, ctx: undefined });
  return shape as never;
}

/** Awaits a call that must fail; checks its tRPC code and (when given) the field it names. */
export async function refused(call: Promise<unknown>, code: TRPCError['code'], field?: string): Promise<TRPCError> {
  let err: unknown = null;
  try {
    await call;
  } catch (e) {
    err = e;
  }
  expect(err, `expected ${code}${field ? ` on ${field}` : ''} but the call succeeded`).toBeInstanceOf(TRPCError);
  const e = err as TRPCError;
  const shape = shapeOf(e);
  expect({ code: e.code, message: e.message }).toMatchObject({ code });
  if (field !== undefined) {
    expect(shape.data.field, `field of "${e.message}"`).toBe(field);
  }
  return e;
}
