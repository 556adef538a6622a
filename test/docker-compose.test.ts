// Docker has no engine on the build machines, so the compose file is checked
// structurally: the services exist, depend on each other sensibly, and every
// npm script they run is defined in package.json.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const compose = parse(readFileSync('docker-compose.yml', 'utf8')) as {
  services: Record<string, { image?: string; command?: string[] | string; environment?: Record<string, string>; depends_on?: unknown }>;
  volumes?: Record<string, unknown>;
};
const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> };

describe('docker-compose.yml', () => {
  it('has Postgres, the console and two agents', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['agent1', 'agent2', 'console', 'postgres']);
    expect(compose.services.postgres?.image).toMatch(/^postgres:\d+/);
  });

  it('points the console at the Postgres service', () => {
    const url = compose.services.console?.environment?.DATABASE_URL ?? '';
    expect(new URL(url.replace(/\$\{[^}]+\}/g, 'x')).hostname).toBe('postgres');
    expect(compose.services.console?.depends_on).toHaveProperty('postgres');
  });

  it('runs only npm scripts that package.json defines', () => {
    const used: string[] = [];
    for (const svc of Object.values(compose.services)) {
      const cmd = Array.isArray(svc.command) ? svc.command.join(' ') : (svc.command ?? '');
      for (const m of cmd.matchAll(/npm (?:run )?(\w[\w:-]*)/g)) {
        if (m[1] !== 'ci' && m[1] !== 'install') used.push(m[1] === 'start' ? 'start' : m[1]!);
      }
    }
    expect(used).toEqual(expect.arrayContaining(['start', 'agent']));
    for (const script of used) expect(pkg.scripts, `script ${script}`).toHaveProperty(script);
  });

  it('gives agents what TAP guests need', () => {
    for (const name of ['agent1', 'agent2']) {
      const svc = compose.services[name] as { cap_add?: string[]; devices?: string[] };
      expect(svc.cap_add).toContain('NET_ADMIN');
      expect(svc.devices?.join()).toContain('/dev/net/tun');
    }
  });
});
