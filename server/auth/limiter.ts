// Failed-login limiter. Failures are counted per (client address, username):
// people behind one proxy share an address, and one of them mistyping must
// not lock out the others. A second, higher cap per username across every
// address stops guessing spread over many addresses; an address the user
// has signed in from before is exempt from it, so a user's sign-in is never
// blocked by someone else's failures from other addresses. A third, much
// higher cap per address across usernames stops one address from trying a
// common password against every account; it too spares (address, username)
// pairs that signed in before, so a proxy under attack does not lock out the
// people behind it who have signed in from there. In memory, per
// console process: with several processes an attacker gets at most these
// many tries per process, still far from a useful guessing rate.
/** Failures of one username from one client address in the window. */
export const LOGIN_MAX_FAILURES = 10;
/** Failures of one username from all addresses together in the window. */
export const LOGIN_MAX_USER_FAILURES = 100;
/** Failures of all usernames from one client address together in the window. */
export const LOGIN_MAX_ADDRESS_FAILURES = 200;
/** Wrong current passwords (`auth.changePassword`) of one signed-in user in the window. */
export const PASSWORD_CHECK_MAX_FAILURES = 10;
export const LOGIN_WINDOW_MS = 5 * 60_000;
/** How long a successful sign-in exempts its (address, username) from the per-username cap. */
export const LOGIN_TRUST_MS = 30 * 24 * 3600_000;
/** Keys kept at most; past that the oldest are dropped so a flood cannot grow memory. */
const MAX_KEYS = 50_000;

export class FailureLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    readonly maxFailures = LOGIN_MAX_FAILURES,
    readonly windowMs = LOGIN_WINDOW_MS,
  ) {}

  private recent(key: string, now: number): number[] {
    const list = this.failures.get(key);
    if (!list) return [];
    const kept = list.filter((t) => now - t < this.windowMs);
    if (kept.length === 0) this.failures.delete(key);
    else if (kept.length !== list.length) this.failures.set(key, kept);
    return kept;
  }

  /** Milliseconds until `key` may try again, or 0 when it may try now. */
  retryAfterMs(key: string, now = Date.now()): number {
    const list = this.recent(key, now);
    if (list.length < this.maxFailures) return 0;
    const oldest = list[list.length - this.maxFailures] ?? now;
    return Math.max(1, oldest + this.windowMs - now);
  }

  fail(key: string, now = Date.now()): void {
    const list = this.recent(key, now);
    list.push(now);
    // Only the newest maxFailures timestamps matter for the decision.
    this.failures.delete(key);
    this.failures.set(key, list.slice(-this.maxFailures));
    if (this.failures.size > MAX_KEYS) {
      const oldest = this.failures.keys().next().value;
      if (oldest !== undefined) this.failures.delete(oldest);
    }
  }

  clear(key: string): void {
    this.failures.delete(key);
  }

  reset(): void {
    this.failures.clear();
  }
}

/** The client address of a call the console could not attribute (no proxy header, a test caller). */
const UNKNOWN_ADDRESS = '-';

export class LoginLimiter {
  /** By `<address> <username>`. */
  readonly pairs: FailureLimiter;
  /** By username, whatever the address. */
  readonly users: FailureLimiter;
  /** By client address, whatever the username. */
  readonly addresses: FailureLimiter;
  /** Wrong current passwords (auth.changePassword), by user id. */
  readonly passwordChecks: FailureLimiter;
  /** `<address> <username>` pairs that signed in, with when they last did. */
  private readonly trusted = new Map<string, number>();
  private readonly trustMs: number;

  constructor(
    opts: { pairMax?: number; userMax?: number; addressMax?: number; passwordMax?: number; windowMs?: number; trustMs?: number } = {},
  ) {
    const windowMs = opts.windowMs ?? LOGIN_WINDOW_MS;
    this.pairs = new FailureLimiter(opts.pairMax ?? LOGIN_MAX_FAILURES, windowMs);
    this.users = new FailureLimiter(opts.userMax ?? LOGIN_MAX_USER_FAILURES, windowMs);
    this.addresses = new FailureLimiter(opts.addressMax ?? LOGIN_MAX_ADDRESS_FAILURES, windowMs);
    this.passwordChecks = new FailureLimiter(opts.passwordMax ?? PASSWORD_CHECK_MAX_FAILURES, windowMs);
    this.trustMs = opts.trustMs ?? LOGIN_TRUST_MS;
  }

  private static pair(username: string, clientIp: string | null | undefined): string {
    // A space never occurs in an address or a username, so pairs cannot collide.
    return `${clientIp || UNKNOWN_ADDRESS} ${username.toLowerCase()}`;
  }

  private isTrusted(pair: string, now: number): boolean {
    const at = this.trusted.get(pair);
    if (at === undefined) return false;
    if (now - at < this.trustMs) return true;
    this.trusted.delete(pair);
    return false;
  }

  /** Milliseconds until this address may try this username again, or 0 when it may try now. */
  retryAfterMs(username: string, clientIp: string | null | undefined, now = Date.now()): number {
    const pair = LoginLimiter.pair(username, clientIp);
    const own = this.pairs.retryAfterMs(pair, now);
    if (this.isTrusted(pair, now)) return own;
    const everywhere = this.users.retryAfterMs(username.toLowerCase(), now);
    const everyone = this.addresses.retryAfterMs(clientIp || UNKNOWN_ADDRESS, now);
    return Math.max(own, everywhere, everyone);
  }

  fail(username: string, clientIp: string | null | undefined, now = Date.now()): void {
    this.pairs.fail(LoginLimiter.pair(username, clientIp), now);
    this.users.fail(username.toLowerCase(), now);
    this.addresses.fail(clientIp || UNKNOWN_ADDRESS, now);
  }

  /**
   * A sign-in succeeded: this pair's failures are forgotten and the pair is
   * trusted. Failures from other addresses stay counted: they are someone
   * else's, and forgetting them would hand a guesser a fresh allowance.
   */
  succeed(username: string, clientIp: string | null | undefined, now = Date.now()): void {
    const pair = LoginLimiter.pair(username, clientIp);
    this.pairs.clear(pair);
    this.trusted.delete(pair);
    this.trusted.set(pair, now);
    if (this.trusted.size > MAX_KEYS) {
      const oldest = this.trusted.keys().next().value;
      if (oldest !== undefined) this.trusted.delete(oldest);
    }
  }

  reset(): void {
    this.pairs.reset();
    this.users.reset();
    this.addresses.reset();
    this.passwordChecks.reset();
    this.trusted.clear();
  }
}

/** The console's sign-in limiter. */
export const loginLimiter = new LoginLimiter();
