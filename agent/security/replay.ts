// The anti-replay window of docs/wire.md "SEALED frames" (64 packets, spec
// "Defaults"), in the shape of RFC 4303 section 3.4.3: the highest sequence
// accepted so far and a bitmap of which of the 64 sequences at and below it
// were seen. check() is the cheap pre-test before the tag is verified;
// accept() records a sequence only once its frame has authenticated, so a
// forged frame can never move the window.

/** docs/wire.md "Defaults": anti-replay window. */
export const REPLAY_WINDOW = 64;
const WINDOW = BigInt(REPLAY_WINDOW);
const MASK = (1n << WINDOW) - 1n;

export type ReplayVerdict = 'ok' | 'replay' | 'too_old';

export class ReplayWindow {
  /** Highest sequence accepted; -1 before the first. */
  private top = -1n;
  /** Bit i set: sequence top - i was accepted. */
  private seen = 0n;

  check(seq: bigint): ReplayVerdict {
    if (seq > this.top) return 'ok';
    const behind = this.top - seq;
    if (behind >= WINDOW) return 'too_old';
    return (this.seen >> behind) & 1n ? 'replay' : 'ok';
  }

  /** Records an authenticated sequence; check() must have said 'ok'. */
  accept(seq: bigint): void {
    if (seq > this.top) {
      const ahead = seq - this.top;
      this.seen = ahead >= WINDOW ? 1n : ((this.seen << ahead) | 1n) & MASK;
      this.top = seq;
      return;
    }
    const behind = this.top - seq;
    if (behind < WINDOW) this.seen |= 1n << behind;
  }

  /** The highest sequence accepted, or -1n. */
  get highest(): bigint {
    return this.top;
  }
}
