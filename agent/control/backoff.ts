// Reconnect delays for the console link: exponential from 0.5 s to 10 s with
// jitter, so a console restart is not met by every agent at the same instant.
// Pure apart from the injected random source (tests pass a fixed one).

export interface BackoffOptions {
  /** First delay [500 ms]. */
  initialMs?: number;
  /** Ceiling [10 000 ms]. */
  maxMs?: number;
  /** Growth per failure [2]. */
  factor?: number;
  /** Fraction of each delay that is randomised [0.5]: the delay lies in [d·(1−j), d]. */
  jitter?: number;
  random?: () => number;
}

export const BACKOFF_INITIAL_MS = 500;
export const BACKOFF_MAX_MS = 10_000;

export class Backoff {
  private attempt = 0;
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly factor: number;
  private readonly jitter: number;
  private readonly random: () => number;

  constructor(opts: BackoffOptions = {}) {
    this.initialMs = opts.initialMs ?? BACKOFF_INITIAL_MS;
    this.maxMs = opts.maxMs ?? BACKOFF_MAX_MS;
    this.factor = opts.factor ?? 2;
    this.jitter = opts.jitter ?? 0.5;
    this.random = opts.random ?? Math.random;
    if (!(this.initialMs > 0) || !(this.maxMs >= this.initialMs)) throw new RangeError('backoff: need 0 < initialMs <= maxMs');
    if (!(this.factor >= 1)) throw new RangeError('backoff: factor must be >= 1');
    if (!(this.jitter >= 0 && this.jitter <= 1)) throw new RangeError('backoff: jitter must be within [0, 1]');
  }

  /** The delay before the next attempt; each call counts one more failure. */
  next(): number {
    // The exponent is capped so a long outage cannot overflow to Infinity.
    const ceiling = Math.min(this.maxMs, this.initialMs * this.factor ** Math.min(this.attempt, 64));
    this.attempt += 1;
    const r = Math.min(Math.max(this.random(), 0), 1);
    return Math.round(ceiling * (1 - this.jitter * r));
  }

  /** The link worked: the next failure starts from the initial delay again. */
  reset(): void {
    this.attempt = 0;
  }

  /** Failures since the last reset. */
  get failures(): number {
    return this.attempt;
  }
}
