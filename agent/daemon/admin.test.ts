import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminServer, parseAdminAddress } from './admin.ts';
import { Agent } from './agent.ts';
import { silentLogger } from '../log.ts';

const PORT = 20_000 + Math.floor(Math.random() * 20_000);

describe('admin endpoint', () => {
  let agent: Agent;
  let admin: AdminServer;
  let base: string;

  beforeAll(async () => {
    agent = new Agent({
      logger: silentLogger,
      state: {
        host: 'h1',
        generation: 4,
        underlay: { address: '127.0.0.2', port: PORT, multicast: null, peers: [] },
        vnets: [{ id: 7, security: 'none' }],
        varp: { key: '00112233445566778899aabbccddeeff' },
        vifs: [
          { id: 'web-1/eth0', vnet: 7, mac: '02:5d:00:00:00:0a', ip: '10.7.0.10/24', version: 3, guest: { kind: 'emulated' } },
          { id: 'web-2/eth0', vnet: 7, mac: '02:5d:00:00:00:0b', ip: '10.7.0.11/24', version: 1, guest: { kind: 'emulated' } },
        ],
      },
    });
    await agent.start();
    admin = new AdminServer({ agent, logger: silentLogger, port: 0 });
    const a = await admin.start();
    base = `http://${a.host}:${a.port}`;
  });

  afterAll(async () => {
    await admin.stop();
    await agent.stop();
  });

  it('binds loopback by default and parses HOST:PORT', () => {
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(parseAdminAddress('9100')).toEqual({ host: '127.0.0.1', port: 9100 });
    expect(parseAdminAddress('[::1]:9100')).toEqual({ host: '::1', port: 9100 });
    expect(() => parseAdminAddress('host:port')).toThrow(/--admin/);
  });

  it('serves the state view without the VARP key', async () => {
    const r = await fetch(`${base}/v1/state`);
    const text = await r.text();
    expect(text).not.toContain('00112233445566778899aabbccddeeff');
    const s = JSON.parse(text);
    expect(s).toMatchObject({ host: 'h1', appliedGeneration: 4, underlay: { address: '127.0.0.2', port: PORT } });
    expect(s.vifs[0]).toEqual({ id: 'web-1/eth0', vnet: 7, mac: '02:5d:00:00:00:0a', ip: '10.7.0.10/24', guest: 'emulated', device: null, version: 3, status: 'up', error: null, path: { path: 'userspace', reason: 'emulated guest' } });
  });

  it('pages the VARP listing and refuses a bad limit or cursor, naming the field', async () => {
    const s = await (await fetch(`${base}/v1/state?limit=1&after=${encodeURIComponent('7/02:5d:00:00:00:0a')}`)).json();
    expect(s).toMatchObject({ varp: [], varpTotal: 0, varpNext: null });
    for (const [q, field] of [['limit=0', 'limit'], ['limit=10001', 'limit'], ['limit=x', 'limit'], ['after=7', 'after'], ['after=1%2Fzz:00:00:00:00:00', 'after']]) {
      const r = await fetch(`${base}/v1/state?${q}`);
      expect(r.status).toBe(400);
      expect((await r.json()).error).toMatchObject({ code: 'BAD_REQUEST', field });
    }
  });

  it('serves Prometheus text', async () => {
    const r = await fetch(`${base}/metrics`);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await r.text();
    expect(text).toMatch(/^# TYPE softudc_agent_applied_generation gauge\nsoftudc_agent_applied_generation 4$/m);
    expect(text).toMatch(/^softudc_varp_gratuitous_sent_total 2$/m);
  });

  it('pings from an emulated guest', async () => {
    const r = await fetch(`${base}/v1/vifs/${encodeURIComponent('web-1/eth0')}/ping`, { method: 'POST', body: JSON.stringify({ target: '10.7.0.11', count: 2, intervalMs: 5 }) });
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ target: '10.7.0.11', sent: 2, received: 2 });
  });

  it.each([
    ['/v1/vifs/nope/ping', 'POST', '{"target":"10.7.0.11"}', 404, 'id'],
    ['/v1/vifs/web-1%2Feth0/ping', 'POST', '{"target":10}', 400, 'target'],
    ['/v1/vifs/web-1%2Feth0/ping', 'POST', '{"target":"10.7.0"}', 400, 'target'],
    ['/v1/vifs/web-1%2Feth0/ping', 'POST', '{"target":"10.7.0.11","count":-1}', 400, 'count'],
    ['/v1/vifs/web-1%2Feth0/ping', 'POST', 'not json', 400, 'body'],
    ['/v1/vifs/web-1%2Feth0/ping', 'GET', undefined, 405, null],
    ['/nothing', 'GET', undefined, 404, null],
    ['/v1/vifs/%E0%A4%A/ping', 'POST', '{"target":"10.7.0.11"}', 400, 'id'],
    ['/v1/vifs/%E0%A4%A/inspect?peer=10.7.0.11', 'GET', undefined, 400, 'id'],
  ])('answers %s %s with a JSON error', async (path, method, body, status, field) => {
    const r = await fetch(`${base}${path}`, { method, body });
    expect(r.status).toBe(status);
    const j = (await r.json()) as { error: { code: string; message: string; field: string | null } };
    expect(j.error.message.length).toBeGreaterThan(0);
    expect(j.error.field).toBe(field);
  });
});
