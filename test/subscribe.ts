// A subscription called through createCaller, read one value at a time with
// a timeout, so a test can assert "nothing came" as well as "this came".
export async function subscribe<T>(start: (signal: AbortSignal) => Promise<AsyncIterable<unknown>>, map: (v: unknown) => T) {
  const abort = new AbortController();
  const it = (await start(abort.signal))[Symbol.asyncIterator]();
  // A value that arrives after a timed-out wait belongs to the next call.
  let pending: Promise<IteratorResult<unknown>> | null = null;
  return {
    async next(ms = 5000): Promise<T | 'timeout'> {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), ms)));
      pending ??= it.next();
      const r = await Promise.race([pending, timeout]).finally(() => clearTimeout(timer));
      if (r === 'timeout') return r;
      pending = null;
      if (r.done) throw new Error('subscription ended');
      return map(r.value);
    },
    async close() {
      abort.abort();
      await it.return?.();
    },
    /** The error the subscription ends with. */
    async error(ms = 5000): Promise<unknown> {
      try {
        const v = await this.next(ms);
        return new Error(`expected an error, got ${JSON.stringify(v)}`);
      } catch (e) {
        return e;
      }
    },
  };
}
