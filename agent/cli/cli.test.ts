import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnAgent, tempDir, type AgentProcess } from '../../test/agent-process.ts';

const PORT = 20_000 + Math.floor(Math.random() * 20_000);
const state = (generation: number, ip = '10.7.0.10/24') => ({
  host: 'h1',
  generation,
  underlay: { address: '127.0.0.2', port: PORT, multicast: null, peers: [] },
  vnets: [{ id: 7, security: 'none' }],
  vifs: [{ id: 'a', vnet: 7, mac: '02:5d:00:00:00:0a', ip, version: 1, guest: { kind: 'emulated' } }],
});

async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`condition not met: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('softudc-agent command line', () => {
  let agent: AgentProcess;
  let cleanup: () => Promise<void> = async () => {};

  beforeAll(async () => {
    const t = await tempDir('softudc-cli-');
    cleanup = t.cleanup;
    agent = await spawnAgent(t.dir, 'h1', state(1));
  }, 60_000);

  afterAll(async () => {
    await agent?.stop();
    await cleanup();
  });

  it('keeps the running state when the file turns bad, and logs the field', async () => {
    await agent.writeState({ ...state(2), vifs: [{ ...state(2).vifs[0], mac: 'not-a-mac' }] });
    const line = await until(
      async () => agent.logs.find((l) => l.includes('state rejected')),
      (l) => l !== undefined,
    );
    expect(JSON.parse(line!)).toMatchObject({ level: 'error', field: 'vifs[0].mac' });
    expect(await agent.state()).toMatchObject({ appliedGeneration: 1, vifs: [{ id: 'a', status: 'up' }] });
  });

  it('applies a changed file, and re-applies on SIGHUP', async () => {
    await agent.writeState(state(3, '10.7.0.20/24'));
    await until(() => agent.state(), (s) => s.appliedGeneration === 3);
    expect((await agent.state()).vifs[0]).toMatchObject({ ip: '10.7.0.20/24' });
    const before = agent.logs.filter((l) => l.includes('"reason":"SIGHUP"')).length;
    agent.child.kill('SIGHUP');
    await until(async () => agent.logs.filter((l) => l.includes('"reason":"SIGHUP"')).length, (n) => n > before);
    expect(agent.child.exitCode).toBeNull();
  });

  it('stops cleanly on SIGTERM', async () => {
    expect(await agent.stop()).toBe(0);
    expect(agent.logs.some((l) => l.includes('"msg":"agent stopped"'))).toBe(true);
  });
});
