#!/usr/bin/env node
// Runs the browser suite against a console with a fresh embedded database in a
// temporary directory (or, with DATABASE_URL, whatever that names), so runs
// never see each other's data. The console starts its three local agents
// (state in the same temporary directory) and no example farm: the suite
// builds its own. Skips with a reason when Chromium is missing, unless
// SOFTUDC_REQUIRE_ALL=1.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { tsImport } from 'tsx/esm/api';

const { testConfig } = await tsImport('../config/index.ts', import.meta.url);
let config;
try {
  config = testConfig();
} catch (err) {
  console.error(err.message);
  process.exit(2);
}
const chromium = config.CHROMIUM_PATH;
if (!existsSync(chromium)) {
  const reason = `Chromium not found at ${chromium} (apt-get install chromium)`;
  if (config.SOFTUDC_REQUIRE_ALL) {
    console.error(`SOFTUDC_REQUIRE_ALL=1 but ${reason}`);
    process.exit(1);
  }
  console.warn(`[skip] end-to-end suite: ${reason}`);
  process.exit(0);
}

const dataDir = mkdtempSync(join(tmpdir(), 'softudc-e2e-'));
mkdirSync('e2e/artifacts', { recursive: true });
const env = {
  ...process.env,
  SOFTUDC_DATA_DIR: join(dataDir, 'pglite'),
  SOFTUDC_AGENTS_DIR: join(dataDir, 'agents'),
  SOFTUDC_SEED: process.env.SOFTUDC_SEED ?? '0',
  SOFTUDC_ADMIN_PASSWORD: process.env.SOFTUDC_ADMIN_PASSWORD ?? `e2e-${randomBytes(9).toString('base64url')}`,
  E2E_PORT: String(config.E2E_PORT),
  NEXT_TELEMETRY_DISABLED: '1',
};
const r = spawnSync('npx', ['playwright', 'test', '-c', 'e2e/playwright.config.ts', ...process.argv.slice(2)], {
  stdio: 'inherit',
  env,
});
rmSync(dataDir, { recursive: true, force: true });
process.exit(r.status ?? 1);
