// Runs before the console serves: applies migrations, creates the first admin
// and (for the demo) the local hosts and the example farm. A separate process,
// so the embedded database is closed again before the web server opens it.
//   SOFTUDC_LOCAL_AGENTS=0   no local hosts (scripts/start.mjs --no-agents)
//   SOFTUDC_SEED=0           no example farm (scripts/start.mjs --no-seed)
// What scripts/start.mjs needs to run the local agents goes to
// <agents dir>/local-agents.json (no secrets: each agent's one-time token, when
// it needs one, is in its own state directory, mode 0600).
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { openDatabase } from '../server/db/index.ts';
import { ensureAdmin } from '../server/serve/bootstrap.ts';
import { consoleConfig, type ConsoleConfig } from '../config/index.ts';
import { createLogger } from '../log/index.ts';
import { writeFileAtomic } from '../agent/control/store.ts';
import { ensureLocalHosts, seedDemoFarm } from './demo-seed.ts';
import { ensureDemoExternal } from './demo-external.ts';

const logger = createLogger({ fields: { component: 'prepare-db' } });
const log = (msg: string, fields: Record<string, unknown> = {}) => logger.info(msg, fields);

// Every setting, also those read later (at first sign-in or enrollment), is
// checked now so a typo stops the start with a clear message instead of
// failing requests.
let config: ConsoleConfig;
try {
  config = consoleConfig();
} catch (err) {
  console.error((err as Error).message);
  process.exit(2);
}
const localAgents = config.SOFTUDC_LOCAL_AGENTS;
const seed = config.SOFTUDC_SEED;
const agentsDir = config.SOFTUDC_AGENTS_DIR;
const planFile = join(agentsDir, 'local-agents.json');

const db = await openDatabase();
try {
  log('database ready', { kind: db.kind });
  // The first admin's generated password is for the person at the terminal (plain text on stdout), not the log.
  await ensureAdmin(db.prisma, { password: config.SOFTUDC_ADMIN_PASSWORD });
  if (localAgents) {
    await mkdir(agentsDir, { recursive: true, mode: 0o700 });
    const plans = await ensureLocalHosts(db.prisma, { agentsDir, log });
    const list = plans.map((p) => ({ name: p.name, address: p.address, adminPort: p.adminPort, stateDir: p.stateDir }));
    await writeFileAtomic(planFile, JSON.stringify(list, null, 2) + '\n', 0o644);
    if (seed) {
      // Once only (a deleted demo farm stays deleted). It needs the local hosts,
      // so a first start with --no-agents leaves it to a later start with them.
      await seedDemoFarm(db.prisma, { log });
      // As root: the demo's web servers answer on floating IPs from the machine (scripts/demo-external.ts).
      await ensureDemoExternal(db.prisma, { log });
    }
  } else {
    await rm(planFile, { force: true });
    if (seed) log('example farm not seeded: it runs on the local agents (started without --no-agents)');
  }
} finally {
  await db.close();
}
