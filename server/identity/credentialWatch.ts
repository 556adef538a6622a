// Whether the credential a long-lived stream was opened with still holds.
// A request is authenticated once, when it arrives; a subscription then runs
// for hours, so without this a revoked token, a signed-out session, a
// disabled user or a deleted host would keep receiving data. The watch
// re-checks the credential when something happens to it (the services that
// end credentials publish `user.credentials` or `host.revoked`, delivered to
// every console process by LISTEN/NOTIFY), when it expires, and every
// CREDENTIAL_RECHECK_MS in case a notification was lost.
import type { Db } from '../db/index.ts';
import { getEventBus, type ConsoleEvent } from '../events/index.ts';
import type { HostActor, UserActor } from '../auth/actors.ts';

/** Re-checked at least this often, whatever events say. */
export const CREDENTIAL_RECHECK_MS = 60_000;

export interface CredentialState {
  valid: boolean;
  /** When it expires by itself (sessions, tokens with an expiry), else null. */
  expiresAt: Date | null;
}

const INVALID: CredentialState = { valid: false, expiresAt: null };

/** The credential behind `actor`, looked up by id: the same conditions resolveActor applies to its secret. */
export async function credentialState(db: Db, actor: UserActor | HostActor, now: Date = new Date()): Promise<CredentialState> {
  if (actor.kind === 'host') {
    const h = await db.host.findUnique({ where: { id: actor.hostId }, select: { status: true, credentialHash: true } });
    const valid = !!h && h.status !== 'revoked' && h.credentialHash !== null && (actor.credentialHash ?? h.credentialHash) === h.credentialHash;
    return { valid, expiresAt: null };
  }
  const userOk = (u: { disabled: boolean; tenantId: string } | null | undefined) => !!u && !u.disabled && u.tenantId === actor.tenantId;
  const user = { select: { disabled: true, tenantId: true } } as const;
  if (actor.tokenId) {
    const t = await db.apiToken.findUnique({ where: { id: actor.tokenId }, select: { revokedAt: true, expiresAt: true, user } });
    if (!t || t.revokedAt || (t.expiresAt && t.expiresAt <= now) || !userOk(t.user)) return INVALID;
    return { valid: true, expiresAt: t.expiresAt };
  }
  if (actor.sessionId) {
    const s = await db.session.findUnique({ where: { id: actor.sessionId }, select: { expiresAt: true, user } });
    if (!s || s.expiresAt <= now || !userOk(s.user)) return INVALID;
    return { valid: true, expiresAt: s.expiresAt };
  }
  // A caller made in code (tests, scripts) holds no secret: the user itself must still be there and enabled.
  const u = await db.user.findUnique({ where: { id: actor.userId }, ...user });
  return { valid: userOk(u), expiresAt: null };
}

export interface CredentialWatch {
  /** Resolves once the credential no longer holds. */
  readonly lost: Promise<void>;
  close(): void;
}

const concerns = (actor: UserActor | HostActor) => (e: ConsoleEvent): boolean =>
  actor.kind === 'host' ? e.type === 'host.revoked' && e.hostId === actor.hostId : e.type === 'user.credentials' && e.userId === actor.userId;

/** Watches `actor`'s credential until close(); checks it once at the start. */
export async function watchCredential(db: Db, actor: UserActor | HostActor): Promise<CredentialWatch> {
  let unsubscribe = () => {};
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | null = null;
  let again = false;
  let markLost!: () => void;
  const lost = new Promise<void>((resolve) => (markLost = resolve));

  const schedule = (expiresAt: Date | null) => {
    clearTimeout(timer);
    if (closed) return;
    const untilExpiry = expiresAt ? Math.max(0, expiresAt.getTime() - Date.now() + 1) : Infinity;
    timer = setTimeout(() => void check(), Math.min(CREDENTIAL_RECHECK_MS, untilExpiry));
    timer.unref();
  };
  const stop = () => {
    closed = true;
    clearTimeout(timer);
    unsubscribe();
  };
  // One check at a time; an event during a check asks for one more after it.
  const check = (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        if (closed) return;
        let state: CredentialState;
        try {
          state = await credentialState(db, actor);
        } catch {
          // The database is unreachable: the stream's own reads fail too. Look again later.
          schedule(null);
          continue;
        }
        if (!state.valid) {
          stop();
          markLost();
          return;
        }
        schedule(state.expiresAt);
      } while (again);
    })().finally(() => (running = null));
    return running;
  };

  try {
    const bus = await getEventBus(db);
    const relevant = concerns(actor);
    // Only this host's or user's events reach this stream (one per agent: a report must not wake them all).
    const key = actor.kind === 'host' ? `host:${actor.hostId}` : `user:${actor.userId}`;
    unsubscribe = bus.subscribeTo(key, (e) => {
      if (relevant(e)) void check();
    });
  } catch {
    // No event bus for this database (a caller made in code): the timed checks still run.
  }
  await check();
  return { lost, close: stop };
}
