// Browser end-to-end suite: the real console (production build) in Debian's
// Chromium, headless. `npm run test:e2e` (scripts/e2e.mjs) prepares a fresh
// database and the admin password, then runs this config.
import { defineConfig } from '@playwright/test';
import { testConfig } from '../config/index.ts';

const config = testConfig();
const port = config.E2E_PORT;
export const baseURL = `http://127.0.0.1:${port}`;

export default defineConfig({
  testDir: '.',
  testMatch: /.*\.spec\.ts/,
  outputDir: 'artifacts/results',
  fullyParallel: false,
  workers: 1,
  timeout: 120_000,
  retries: 0,
  reporter: [['list']],
  use: {
    baseURL,
    headless: true,
    // A laptop screen: every page must work at this size.
    viewport: { width: 1366, height: 768 },
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: config.CHROMIUM_PATH,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
        '--disable-sync', '--no-first-run', '--disable-quic'],
    },
  },
  webServer: {
    command: `node scripts/start.mjs --port ${port}`,
    url: `${baseURL}/login`,
    timeout: 300_000,
    reuseExistingServer: false,
    stdout: 'pipe',
    stderr: 'pipe',
    cwd: '..',
  },
});
