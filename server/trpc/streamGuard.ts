// Every subscription, whatever procedure it is, ends when the credential it
// was opened with stops holding (server/identity/credentialWatch.ts): the
// root procedure wraps the stream a subscription returns (init.ts), so no
// procedure has to remember to.
import { TRPCError } from '@trpc/server';
import type { Db } from '../db/index.ts';
import { watchCredential } from '../identity/credentialWatch.ts';
import type { HostActor, UserActor } from '../auth/actors.ts';

export const CREDENTIAL_LOST = 'the credential this stream was opened with is no longer valid (signed out, revoked, expired or disabled); sign in again';

const LOST: unique symbol = Symbol('lost');

/** `source`'s values until it ends, or until the credential is lost: then UNAUTHORIZED. */
export async function* whileCredentialHolds<T>(db: Db, actor: UserActor | HostActor, source: AsyncIterable<T>): AsyncGenerator<T, void, undefined> {
  const watch = await watchCredential(db, actor);
  const lost: Promise<typeof LOST> = watch.lost.then(() => LOST);
  const it = source[Symbol.asyncIterator]();
  let pending: Promise<IteratorResult<T>> | null = null;
  try {
    for (;;) {
      pending = it.next();
      const r = await Promise.race([pending, lost]);
      if (r === LOST) throw new TRPCError({ code: 'UNAUTHORIZED', message: CREDENTIAL_LOST });
      pending = null;
      if (r.done) return;
      yield r.value;
    }
  } finally {
    watch.close();
    if (pending) {
      // The source is still waiting for its next value: it ends once the
      // request's signal aborts (server/serve/api.ts); nobody reads it any more.
      pending.catch(() => undefined);
      it.return?.()?.catch(() => undefined);
    } else {
      await it.return?.();
    }
  }
}

export function isAsyncIterable(v: unknown): v is AsyncIterable<unknown> {
  return typeof v === 'object' && v !== null && Symbol.asyncIterator in v;
}
