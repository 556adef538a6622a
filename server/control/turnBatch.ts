// Gathers the asks of one event-loop turn, per owner (a database, a
// statement runner), and hands them to `flush` together after the turn:
// what a thousand streams or reports ask in the same moment becomes one
// statement instead of a thousand.
export function batchPerTurn<O extends object, T>(queues: WeakMap<O, T[]>, owner: O, item: T, flush: (owner: O, items: T[]) => Promise<void>): void {
  let q = queues.get(owner);
  if (!q) {
    queues.set(owner, (q = []));
    setImmediate(() => {
      const taken = queues.get(owner) ?? [];
      queues.delete(owner);
      void flush(owner, taken);
    });
  }
  q.push(item);
}
