// How the agent process ends: on the first SIGTERM or SIGINT it logs, runs
// its stop steps once, and exits 0, or 1 when they failed (logged).
import type { Logger } from '../log.ts';

/** Resolves with the exit code once a signal arrived and `stop` ran; later signals are ignored. */
export function untilSignal(logger: Logger, stop: () => Promise<unknown>): Promise<number> {
  return new Promise<number>((done) => {
    let stopping = false;
    const shutdown = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info('stopping', { signal });
      stop()
        .then(() => done(0))
        .catch((err: unknown) => {
          logger.error('unclean stop', { error: (err as Error).message });
          done(1);
        });
    };
    process.on('SIGTERM', () => shutdown('SIGTERM'));
    process.on('SIGINT', () => shutdown('SIGINT'));
  });
}
