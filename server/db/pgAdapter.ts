// Prisma's driver adapter for a pg.Pool, with each transaction's statements
// run one at a time. A transaction holds one connection, and a connection runs
// one statement at a time; yet Prisma loads a query's relations (`include`,
// nested `select`) side by side, and on one pg.Client the later ones wait in
// pg's own queue, which pg@8 deprecates (a warning) and pg@9 removes (an
// error). Here they wait for each other instead, in the order they were
// issued, as they did in pg's queue. Statements outside a transaction take a
// connection each from the pool and still run side by side.
import { PrismaPg } from '@prisma/adapter-pg';
import type pg from 'pg';

type PgAdapter = Awaited<ReturnType<PrismaPg['connect']>>;
type PgTransaction = Awaited<ReturnType<PgAdapter['startTransaction']>>;

class SerialTransactionsPg extends PrismaPg {
  override async connect(): Promise<PgAdapter> {
    const adapter = await super.connect();
    const start = adapter.startTransaction.bind(adapter);
    adapter.startTransaction = async (isolationLevel) => oneStatementAtATime(await start(isolationLevel));
    return adapter;
  }
}

export function pgAdapter(pool: pg.Pool): PrismaPg {
  return new SerialTransactionsPg(pool);
}

/**
 * Chains the transaction's statements. COMMIT and ROLLBACK are statements
 * too (Prisma sends them through executeRaw), so a rollback after a failed
 * statement waits for the ones still running beside it. Savepoints go through
 * executeRaw on the same object and so through the chain as well.
 */
function oneStatementAtATime(tx: PgTransaction): PgTransaction {
  let last: Promise<unknown> = Promise.resolve();
  const inTurn = <A, R>(run: (arg: A) => Promise<R>) => (arg: A): Promise<R> => {
    const turn = last.then(() => run(arg));
    last = turn.catch(() => undefined);
    return turn;
  };
  tx.queryRaw = inTurn(tx.queryRaw.bind(tx));
  tx.executeRaw = inTurn(tx.executeRaw.bind(tx));
  return tx;
}
