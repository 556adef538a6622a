// softudc-agent: the host agent. Standalone from a state file: the file is
// re-applied when it changes (a watch on its directory, so editors and
// atomic renames are seen) and on SIGHUP; a bad file is logged with the
// offending field and the running state is kept. Managed by a console:
// agent/control/managed.ts runs it.
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { agentConfig } from '../../config/index.ts';
import { Agent } from '../daemon/agent.ts';
import { AdminServer, parseAdminAddress } from '../daemon/admin.ts';
import { untilSignal } from '../daemon/shutdown.ts';
import { createLogger, envLogLevel, isLogLevel, type Logger } from '../log.ts';
import { loadStateFile, StateError } from '../state.ts';
import { managedOptions, runManaged, UsageError, wantsManaged } from '../control/managed.ts';

const USAGE = `Usage: softudc-agent --state FILE [--admin HOST:PORT] [--log-level LEVEL]
       softudc-agent --console URL --token TOKEN [--state-dir DIR] [--admin HOST:PORT] [--report-interval S]

  --state FILE          standalone: desired state (JSON, docs/agent-state.md); re-applied on change and SIGHUP
  --console URL         managed: the console to follow (e.g. http://console:3000)
  --token TOKEN         managed: one-time enrollment token (or $SOFTUDC_ENROLL_TOKEN); not needed once enrolled
  --state-dir DIR       managed: credential and last applied state
                        (default /var/lib/softudc-agent as root, else ~/.softudc-agent)
  --report-interval S   managed: seconds between reports to the console (default 5)
  --admin HOST:PORT     serve /metrics, /v1/state and diagnostics (HOST defaults to 127.0.0.1)
  --log-level LEVEL     debug | info | warn | error (default: $SOFTUDC_LOG_LEVEL or info)
  --help                this text
`;

/** Coalesces the bursts of events one save produces. */
const RELOAD_DEBOUNCE_MS = 50;

async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        state: { type: 'string' },
        admin: { type: 'string' },
        'log-level': { type: 'string' },
        console: { type: 'string' },
        token: { type: 'string' },
        'state-dir': { type: 'string' },
        'report-interval': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  try {
    agentConfig();
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  const level = args['log-level'];
  if (level !== undefined && !isLogLevel(level)) {
    process.stderr.write(`--log-level: expected debug, info, warn or error, got "${level}"\n`);
    return 2;
  }
  const logger = createLogger({ level: level ?? envLogLevel() });
  let admin: { host: string; port: number } | undefined;
  try {
    admin = args.admin === undefined ? undefined : parseAdminAddress(args.admin);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  if (wantsManaged(args)) {
    try {
      return await runManaged(managedOptions(args, logger, admin));
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      process.stderr.write(`${err.message}\n\n${USAGE}`);
      return 2;
    }
  }
  if (args.state === undefined) {
    process.stderr.write(`--state FILE (standalone) or --console URL --token TOKEN (managed) is required\n\n${USAGE}`);
    return 2;
  }
  return run(resolve(args.state), admin, logger);
}

async function run(file: string, adminAddr: { host: string; port: number } | undefined, logger: Logger): Promise<number> {
  let agent: Agent;
  try {
    const state = await loadStateFile(file);
    // Beside the state file: sealed vnets continue their sequence numbers after a restart.
    agent = new Agent({ state, logger, sealSequenceFile: `${file}.seal-seq` });
    const r = await agent.start();
    logger.info('agent started', { state: file, host: state.host, generation: r.generation, vifs: r.added.length, errors: r.errors });
  } catch (err) {
    logger.error('cannot start', describe(err, file));
    return 1;
  }

  let admin: AdminServer | undefined;
  // Watching starts before the admin endpoint answers: once it is up, a changed file is never missed.
  let timer: NodeJS.Timeout | undefined;
  const reload = (why: string) => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      loadStateFile(file)
        .then((s) => agent.apply(s))
        .then((r) => logger.info('state applied', { reason: why, generation: r.generation, added: r.added, removed: r.removed, changed: r.changed, errors: r.errors }))
        .catch((err: unknown) => logger.error('state rejected, keeping the running state', { reason: why, ...describe(err, file) }));
    }, RELOAD_DEBOUNCE_MS);
  };

  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(file), (_event, name) => {
      if (name === null || name === basename(file)) reload('file changed');
    });
    watcher.on('error', (err) => logger.warn('state file watch failed; SIGHUP still reloads', { error: err.message }));
  } catch (err) {
    logger.warn('cannot watch the state file; SIGHUP still reloads', { error: (err as Error).message });
  }
  process.on('SIGHUP', () => reload('SIGHUP'));

  if (adminAddr) {
    admin = new AdminServer({ agent, logger, ...adminAddr });
    try {
      const a = await admin.start();
      logger.info('admin listening', { address: a.host, port: a.port });
    } catch (err) {
      logger.error('cannot start admin server', { error: (err as Error).message, address: adminAddr.host, port: adminAddr.port });
      clearTimeout(timer);
      watcher?.close();
      await agent.stop();
      return 1;
    }
  }

  return untilSignal(logger, () => {
    clearTimeout(timer);
    watcher?.close();
    return Promise.all([admin?.stop(), agent.stop()]);
  });
}

function describe(err: unknown, file: string): Record<string, unknown> {
  if (err instanceof StateError) return { file, field: err.field, error: err.message };
  const e = err as NodeJS.ErrnoException;
  return { file, error: e.message, code: e.code };
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    createLogger({ level: 'error' }).error('fatal', { error: (err as Error).message, stack: (err as Error).stack });
    process.exit(1);
  },
);
