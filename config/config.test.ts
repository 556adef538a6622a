// The configuration module: defaults, valid values, and a clear error naming
// the variable for every bad one; the docs table is the one rendered here.
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { agentConfig, ConfigError, consoleConfig, testConfig } from './index.ts';
import { renderConfigDoc } from './docs.ts';
import { VARIABLES } from './variables.ts';

describe('configuration', () => {
  it('fills in the documented defaults', () => {
    const c = consoleConfig({});
    expect(c.PORT).toBe(3000);
    expect(c.SOFTUDC_LISTEN).toBe('127.0.0.1');
    expect(c.SOFTUDC_SESSION_HOURS).toBe(12);
    expect(c.SOFTUDC_ENROLL_TTL_MINUTES).toBe(60);
    expect(c.SOFTUDC_VARP_AUTH).toBe(true);
    expect(c.SOFTUDC_LOG_LEVEL).toBe('info');
    expect(c.DATABASE_URL).toBeUndefined();
    expect(c.SOFTUDC_TRUSTED_PROXIES.prefixes).toEqual([]);
    const a = agentConfig({});
    expect(a).toMatchObject({ SOFTUDC_UNDERLAY_BATCH: true, SOFTUDC_UNDERLAY_GSO: true, SOFTUDC_TAP_OFFLOAD: true, SOFTUDC_LOG_LEVEL: 'info' });
    expect(testConfig({}).SOFTUDC_REQUIRE_ALL).toBe(false);
  });

  it('reads valid values; blank counts as unset', () => {
    const c = consoleConfig({ PORT: '8080', SOFTUDC_SESSION_HOURS: '0.5', SOFTUDC_SEED: '0', SOFTUDC_LOG_LEVEL: 'WARN', SOFTUDC_DATA_DIR: '  ' });
    expect(c).toMatchObject({ PORT: 8080, SOFTUDC_SESSION_HOURS: 0.5, SOFTUDC_SEED: false, SOFTUDC_LOG_LEVEL: 'warn', SOFTUDC_DATA_DIR: './data/pglite' });
    expect(consoleConfig({ SOFTUDC_TRUSTED_PROXIES: '10.0.0.5, fd00::/8' }).SOFTUDC_TRUSTED_PROXIES.prefixes).toEqual([
      { address: '10.0.0.5', prefix: 32, family: 4 },
      { address: 'fd00::', prefix: 8, family: 6 },
    ]);
  });

  it.each([
    ['PORT', '99999', /^PORT: expected a TCP port, 1–65535 \(got "99999"\)$/],
    ['PORT', '80x', /^PORT: /],
    ['SOFTUDC_SESSION_HOURS', 'soon', /^SOFTUDC_SESSION_HOURS: expected a number of hours, more than 0 and at most 720 \(got "soon"\)$/],
    ['SOFTUDC_SESSION_HOURS', '0', /^SOFTUDC_SESSION_HOURS: /],
    ['SOFTUDC_ENROLL_TTL_MINUTES', '20000', /^SOFTUDC_ENROLL_TTL_MINUTES: .*at most 10080/],
    ['SOFTUDC_KEY_ROTATION_HOURS', '-1', /^SOFTUDC_KEY_ROTATION_HOURS: /],
    ['SOFTUDC_KEY_ROTATION_GRACE_S', 'Infinity', /^SOFTUDC_KEY_ROTATION_GRACE_S: /],
    ['SOFTUDC_SEED', 'no', /^SOFTUDC_SEED: expected 0 or 1 \(got "no"\)$/],
    ['SOFTUDC_VARP_AUTH', 'off', /^SOFTUDC_VARP_AUTH: expected 0 or 1/],
    ['SOFTUDC_LOG_LEVEL', 'verbose', /^SOFTUDC_LOG_LEVEL: expected debug, info, warn or error \(got "verbose"\)$/],
    ['SOFTUDC_TRUSTED_PROXIES', '10.0.0.0/33', /^SOFTUDC_TRUSTED_PROXIES: "10.0.0.0\/33" is not an IP address or CIDR prefix/],
    ['SOFTUDC_LISTEN', 'a b', /^SOFTUDC_LISTEN: expected an IP address or a host name/],
  ])('%s=%s is an error naming the variable', (name, value, message) => {
    expect(() => consoleConfig({ [name]: value })).toThrow(message);
  });

  it('agent settings are checked the same way', () => {
    expect(() => agentConfig({ SOFTUDC_UNDERLAY_GSO: 'false' })).toThrow(/^SOFTUDC_UNDERLAY_GSO: expected 0 or 1/);
    expect(() => testConfig({ E2E_PORT: '0' })).toThrow(/^E2E_PORT: /);
  });

  it('names every bad variable at once and never echoes a secret', () => {
    let err: unknown;
    try {
      consoleConfig({ PORT: 'x', DATABASE_URL: 'mysql://root:hunter2@db/x' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems.map((p) => p.variable)).toEqual(['DATABASE_URL', 'PORT']);
    expect((err as Error).message).toMatch(/^DATABASE_URL: expected a postgresql:\/\/ URL/);
    expect((err as Error).message).not.toContain('hunter2');
  });

  it('a bad value stops `npm start` and the agent with the message and exit code 2', () => {
    const env = { ...process.env, SOFTUDC_SESSION_HOURS: 'soon' };
    const start = spawnSync(process.execPath, ['scripts/start.mjs', '--no-agents'], { env, encoding: 'utf8' });
    expect(start.status).toBe(2);
    expect(start.stderr).toContain('SOFTUDC_SESSION_HOURS: expected a number of hours');
    const agent = spawnSync(process.execPath, ['bin/softudc-agent.js', '--state', 'nowhere.json'], {
      env: { ...process.env, SOFTUDC_UNDERLAY_BATCH: 'yes' },
      encoding: 'utf8',
    });
    expect(agent.status).toBe(2);
    expect(agent.stderr).toContain('SOFTUDC_UNDERLAY_BATCH: expected 0 or 1 (got "yes")');
  });

  it('docs/operations.md has the table of every variable, as rendered from config/variables.ts', () => {
    const page = readFileSync('docs/operations.md', 'utf8');
    expect(renderConfigDoc(page), 'run `npm run docs:config`').toBe(page);
    for (const name of Object.keys(VARIABLES)) expect(page).toContain(`| \`${name}\` |`);
  });
});
