// Managed mode of softudc-agent: enroll (once), forward at once from the
// persisted state, then follow the console. The command line is parsed in
// agent/cli/cli.ts; this file runs it.
//
//   softudc-agent --console URL --token TOKEN [--state-dir DIR] [--admin HOST:PORT] [--report-interval S]
import { agentConfig } from '../../config/index.ts';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Agent, type ApplyResult, type AgentStateView } from '../daemon/agent.ts';
import { AdminServer } from '../daemon/admin.ts';
import { untilSignal } from '../daemon/shutdown.ts';
import type { Logger } from '../log.ts';
import { createConsoleClient, normaliseConsoleUrl } from './client.ts';
import { agentVersion, ensureCredential, EnrollError } from './enroll.ts';
import { CommandChannel } from './commands.ts';
import { ControlLink, DEFAULT_REPORT_INTERVAL_MS, type ApplyTarget } from './link.ts';
import { CREDENTIAL_FILE, defaultStateDir, ensureStateDir, readCredential, readPersistedState, StoreError, writeCredential } from './store.ts';

export interface ManagedArgs {
  console?: string;
  token?: string;
  'state-dir'?: string;
  'report-interval'?: string;
}

export interface ManagedOptions {
  consoleUrl?: string;
  token?: string;
  stateDir: string;
  reportIntervalMs: number;
  admin?: { host: string; port: number };
  logger: Logger;
}

/** Managed mode when any of its flags is given, or when the default state directory holds a credential. */
export function wantsManaged(args: ManagedArgs & { state?: string }): boolean {
  if (args.console !== undefined || args.token !== undefined || args['state-dir'] !== undefined) return true;
  return args.state === undefined && existsSync(join(defaultStateDir(), CREDENTIAL_FILE));
}

export class UsageError extends Error {}

/** Checks the managed-mode flags; throws UsageError naming the flag. */
export function managedOptions(args: ManagedArgs & { state?: string }, logger: Logger, admin?: { host: string; port: number }): ManagedOptions {
  if (args.state !== undefined) throw new UsageError('--state: standalone mode (a state file) and managed mode (--console/--token/--state-dir) exclude each other');
  let reportIntervalMs = DEFAULT_REPORT_INTERVAL_MS;
  if (args['report-interval'] !== undefined) {
    const s = Number(args['report-interval']);
    if (!Number.isFinite(s) || s < 0.1 || s > 3600) throw new UsageError(`--report-interval: seconds from 0.1 to 3600, got "${args['report-interval']}"`);
    reportIntervalMs = Math.round(s * 1000);
  }
  let consoleUrl: string | undefined;
  if (args.console !== undefined) {
    try {
      consoleUrl = normaliseConsoleUrl(args.console);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  const token = args.token ?? agentConfig().SOFTUDC_ENROLL_TOKEN;
  return { consoleUrl, token: token || undefined, stateDir: resolve(args['state-dir'] ?? defaultStateDir()), reportIntervalMs, admin, logger };
}

/**
 * Drives an agent that may not have a state yet. Before the first state the
 * agent is built but not started (no underlay socket: the host's address is
 * not known); the first apply starts it.
 */
class ManagedAgent implements ApplyTarget {
  private started = false;
  constructor(readonly agent: Agent) {}

  async apply(state: unknown): Promise<ApplyResult> {
    if (this.started) return this.agent.apply(state);
    await this.agent.apply(state); // validates and stores it; nothing runs yet
    // Counted as started even if binding fails: the next apply retries the bind.
    this.started = true;
    return this.agent.start();
  }

  snapshot(): AgentStateView | null {
    return this.started ? this.agent.snapshot() : null;
  }
}

/** Runs managed mode until SIGTERM/SIGINT; resolves with the exit code. */
/** Sealed vnets' sequence reservations (no key material), beside the credential and the applied state. */
export const SEAL_SEQUENCE_FILE = 'seal-seq';

export async function runManaged(opts: ManagedOptions): Promise<number> {
  const { logger } = opts;
  let link: ControlLink | undefined;
  let commands: CommandChannel | undefined;
  let admin: AdminServer | undefined;
  let managed: ManagedAgent | undefined;
  try {
    await ensureStateDir(opts.stateDir);
    const { credential, enrolled, note } = await ensureCredential({ stateDir: opts.stateDir, consoleUrl: opts.consoleUrl, token: opts.token });
    if (note) logger.warn(note, { host: credential.hostName, stateDir: opts.stateDir });
    if (enrolled) logger.info('enrolled', { host: credential.hostName, hostId: credential.hostId, console: credential.console, stateDir: opts.stateDir });
    else logger.info('using the stored host credential', { host: credential.hostName, console: credential.console, stateDir: opts.stateDir });

    const persisted = await readPersistedState(opts.stateDir);
    let initial = persisted.kind === 'ok' ? persisted.state : null;
    if (persisted.kind === 'invalid') logger.warn('ignoring the persisted state; waiting for the console', { error: persisted.reason });
    if (initial && initial.host !== credential.hostName) {
      logger.warn('ignoring the persisted state of another host; waiting for the console', { persisted: initial.host, host: credential.hostName });
      initial = null;
    }
    // Placeholder until the first state arrives: validated, never bound.
    const agent = new Agent({
      state: initial ?? { host: credential.hostName, underlay: { address: '127.0.0.1' } },
      logger,
      sealSequenceFile: join(opts.stateDir, SEAL_SEQUENCE_FILE),
    });
    managed = new ManagedAgent(agent);
    if (initial) {
      // Forward at once from what was last applied, console or not.
      try {
        const r = await managed.apply(initial);
        logger.info('forwarding from the persisted state', { generation: r.generation, vifs: r.added.length, errors: r.errors });
      } catch (err) {
        // E.g. the address is gone: the console may send a state that works.
        logger.error('cannot bring up the persisted state; waiting for the console', describeStartError(err));
      }
    }
    if (opts.admin) {
      admin = new AdminServer({ agent, logger, ...opts.admin });
      const a = await admin.start();
      logger.info('admin listening', { address: a.host, port: a.port });
    }
    const client = createConsoleClient({ url: credential.console, credential: credential.credential });
    link = new ControlLink({
      client,
      target: managed,
      stateDir: opts.stateDir,
      hostName: credential.hostName,
      // Keeps credential.json in step, so a restart still trusts the persisted state.
      onHostRenamed: async (name) => {
        const current = (await readCredential(opts.stateDir)) ?? credential;
        await writeCredential(opts.stateDir, { ...current, hostName: name });
      },
      logger: logger.child({ component: 'console-link' }),
      agentVersion: agentVersion(),
      appliedGeneration: initial ? initial.generation : null,
      reportIntervalMs: opts.reportIntervalMs,
    });
    link.start();
    // A live migration's VIF became active here (the console finishes the move on this report) or was
    // let go (from this report on the console refuses to cancel the move).
    agent.onVifMoved = () => void link?.report();
    // The router manager's commands (ping, traceroute, views) on a stream of their own.
    const nodes = {
      router: (id: string) => agent.nodes.router(id), firewall: (id: string) => agent.nodes.firewall(id),
      inspectVif: agent.inspectVif.bind(agent), varp: () => agent.traceVarp(),
    };
    commands = new CommandChannel({ client, nodes, logger: logger.child({ component: 'commands' }), agentVersion: agentVersion() });
    commands.start();
  } catch (err) {
    logger.error('cannot start', describeStartError(err));
    await admin?.stop().catch(() => {});
    return err instanceof EnrollError || err instanceof StoreError ? 2 : 1;
  }

  // The link's timers are unref'd; this keeps the process up until a signal.
  const keepAlive = setInterval(() => {}, 1 << 30);
  return untilSignal(logger, () => {
    clearInterval(keepAlive);
    return Promise.all([link?.stop(), commands?.stop(), admin?.stop()]).then(() => managed?.agent.stop());
  });
}

function describeStartError(err: unknown): Record<string, unknown> {
  if (err instanceof EnrollError) return { field: err.field, code: err.code, error: err.message };
  if (err instanceof StoreError) return { code: err.code, error: err.message };
  const e = err as NodeJS.ErrnoException & { field?: string };
  return { error: e.message, code: e.code, field: e.field };
}
