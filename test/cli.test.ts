// The `softudc` CLI as automation runs it: a real child process (bin/softudc.js)
// against a running console (real HTTP, a real database) with three real agent
// processes (test/control-world.ts). plan shows the exact diff of a changed
// document, apply is idempotent, a concurrent edit is a conflict exit code,
// deploy --wait ends 0 when every host applied and non-zero naming the host
// that did not, bad files name the bad field and change nothing. The token
// never appears in anything the CLI prints, and the stored one goes only to
// the console it was made for. Over 300 lines on purpose: every case shares
// one running console and its agents, which take long to start. The cases
// have generous timeouts: they are harness limits on a loaded machine, not
// timed assertions.
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startControlWorld, twoTierFarm, type ControlWorld } from './control-world.ts';
import type { FarmDocumentInput } from '../server/farms/farmDocument.ts';
import { hashToken } from '../server/auth/tokens.ts';

const BIN = new URL('../bin/softudc.js', import.meta.url).pathname;

let w: ControlWorld;
let dir: string;
let token: string;
let loginToken = 'unset';
let env: Record<string, string>;
const printed: string[] = [];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], extraEnv: Record<string, string> = env, input?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const childEnv = { PATH: process.env.PATH ?? '', HOME: dir, ...extraEnv } as unknown as NodeJS.ProcessEnv;
    const child = spawn(process.execPath, [BIN, ...args], { env: childEnv, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      printed.push(stdout, stderr);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input ?? '');
  });
}

async function file(name: string, doc: unknown): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, typeof doc === 'string' ? doc : JSON.stringify(doc, null, 2));
  return path;
}

async function farmState(name: string) {
  const farm = await w.db.farm.findFirst({ where: { name }, select: { id: true, revision: true, deployedRevision: true } });
  if (!farm) return null;
  return { ...farm, document: await w.caller.farm.export({ id: farm.id }) };
}

/** The two-tier farm with one change of each kind: a VM moved and re-addressed, one added, one removed. */
function changedFarm(): FarmDocumentInput {
  const doc = twoTierFarm();
  const vms = doc.vms!.filter((vm) => vm.name !== 'db-1').map((vm) =>
    vm.name === 'web-2' ? { ...vm, host: 'h3', vifs: [{ name: 'eth0', vnet: 'front', ip: '10.10.0.22' }] } : vm,
  );
  vms.push({ name: 'web-3', host: 'h2', vifs: [{ name: 'eth0', vnet: 'front', ip: '10.10.0.13', mac: '02:5d:00:00:aa:03' }] });
  return { ...doc, vms };
}

beforeAll(async () => {
  w = await startControlWorld({ tenantName: 'cli' });
  dir = await mkdtemp(join(tmpdir(), 'softudc-cli-'));
  ({ token } = await w.caller.apiToken.create({ name: 'ci', role: 'operator' }));
  env = { SOFTUDC_URL: w.consoleUrl, SOFTUDC_TOKEN: token, XDG_CONFIG_HOME: join(dir, 'no-config') };
}, 180_000);

afterAll(async () => {
  await w?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('softudc CLI against a running console', () => {
  it('signs in with a password on standard input and stores an expiring token file of mode 0600, printing no secret', async () => {
    await w.caller.user.create({ username: 'robot', password: 'a-long-password-for-ci', role: 'operator' });
    const config = join(dir, 'config');
    // A config directory left open to others is closed on login.
    await mkdir(join(config, 'softudc'), { recursive: true, mode: 0o755 });
    await chmod(join(config, 'softudc'), 0o755);
    const r = await cli(['login', '--url', w.consoleUrl, '--user', 'robot', '--password-stdin'], { XDG_CONFIG_HOME: config }, 'a-long-password-for-ci\n');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`signed in to ${w.consoleUrl} as robot (operator)`);
    const path = join(config, 'softudc', 'credentials.json');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(join(config, 'softudc'))).mode & 0o777).toBe(0o700);
    const saved = JSON.parse(await readFile(path, 'utf8')) as { url: string; token: string };
    expect(saved.url).toBe(w.consoleUrl);
    expect(saved.token).toMatch(/^sudc_/);
    loginToken = saved.token;
    expect(r.stdout).not.toContain(saved.token);
    // The token is named for the machine and expires in 90 days.
    const row = await w.db.apiToken.findFirst({ where: { tokenHash: hashToken(saved.token) } });
    expect(row?.name).toBe(`softudc CLI on ${hostname()}`);
    const days = (row!.expiresAt!.getTime() - row!.createdAt.getTime()) / 86_400_000;
    expect(days).toBe(90);

    // The stored token serves the next commands (no SOFTUDC_TOKEN).
    const hosts = await cli(['hosts', '--json'], { XDG_CONFIG_HOME: config });
    expect(hosts.code).toBe(0);
    expect((JSON.parse(hosts.stdout) as { name: string }[]).map((h) => h.name).sort()).toEqual(['h1', 'h2', 'h3']);
    // ... and only the console it was made for: another URL is refused before any request.
    const other = w.consoleUrl.replace('127.0.0.1', 'localhost');
    const elsewhere = await cli(['hosts'], { XDG_CONFIG_HOME: config, SOFTUDC_URL: other });
    expect(elsewhere.code).toBe(5);
    expect(elsewhere.stderr).toContain(`not signed in to ${other}: run softudc login --url ${other}`);

    // SOFTUDC_PASSWORD works; --password still does, with a warning; a wrong password is exit 5.
    const byEnv = await cli(['login', '--url', w.consoleUrl, '--user', 'robot', '--expires-days', '7'], {
      XDG_CONFIG_HOME: join(dir, 'env-config'),
      SOFTUDC_PASSWORD: 'a-long-password-for-ci',
    });
    expect(byEnv.code).toBe(0);
    expect(byEnv.stdout).toContain('expires in 7 days');
    const wrong = await cli(['login', '--url', w.consoleUrl, '--user', 'robot', '--password', 'not-it'], { XDG_CONFIG_HOME: join(dir, 'other') });
    expect(wrong.code).toBe(5);
    expect(wrong.stderr).toMatch(/warning: --password is visible to other users/);
    expect(wrong.stderr).toMatch(/sign-in refused/);
  }, 120_000);

  it('applies a new farm, deploys it and waits until every host applied it (exit 0)', async () => {
    const path = await file('shop.json', twoTierFarm());
    const r = await cli(['apply', path, '--deploy', '--wait=30s']);
    expect(r.stderr).toMatch(/applied on \d of 3 hosts/);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('farm shop: created at revision 1');
    expect(r.stdout).toContain('applied on 3 of 3 hosts: deployment complete');
    const farm = await farmState('shop');
    expect(farm).toMatchObject({ revision: 1, deployedRevision: 1 });
    const hosts = await w.db.host.findMany({ select: { name: true, desiredGeneration: true, report: { select: { appliedGeneration: true } } } });
    for (const h of hosts) expect(h.report?.appliedGeneration, h.name).toBe(h.desiredGeneration);
  }, 120_000);

  it('is idempotent: the same file, and the exported document, change nothing and say so', async () => {
    const before = await farmState('shop');
    const again = await cli(['apply', join(dir, 'shop.json')]);
    expect(again.code).toBe(0);
    expect(again.stdout).toBe('farm shop: no changes; already at what ' + join(dir, 'shop.json') + ' says (revision 1)\n');
    const exported = await cli(['farm', 'export', 'shop', '--output', join(dir, 'exported.json')]);
    expect(exported.code).toBe(0);
    const viaExport = await cli(['apply', join(dir, 'exported.json'), '--json']);
    expect(viaExport.code).toBe(0);
    expect(JSON.parse(viaExport.stdout)).toMatchObject({ name: 'shop', revision: 1, created: false, changed: false, changes: [] });
    const plan = await cli(['plan', join(dir, 'shop.json')]);
    expect(plan.stdout).toContain('model: no changes');
    expect(plan.stdout).toContain('hosts (on the next deploy): no host changes');
    expect(await farmState('shop')).toEqual(before);
  }, 120_000);

  it('plan shows the exact diff of a changed document, in the model and per host, and changes nothing', async () => {
    const before = await farmState('shop');
    const web1Mac = before!.document.vms.find((vm) => vm.name === 'web-1')!.vifs[0]!.mac;
    const path = await file('changed.json', changedFarm());
    const r = await cli(['plan', path, '--json']);
    expect(r.code).toBe(0);
    const plan = JSON.parse(r.stdout) as { revision: number; changes: unknown[]; hosts: unknown[] };
    expect(plan.revision).toBe(1);
    expect(plan.changes).toEqual([
      {
        op: 'change', kind: 'vm', name: 'web-2',
        fields: [
          { path: 'host', before: '"h2"', after: '"h3"' },
          { path: 'vifs.eth0.ip', before: '"10.10.0.12"', after: '"10.10.0.22"' },
        ],
      },
      {
        op: 'add', kind: 'vm', name: 'web-3',
        fields: [
          { path: 'bandwidthMbps', before: null, after: 'null' },
          { path: 'burstKb', before: null, after: 'null' },
          { path: 'guestKind', before: null, after: '"emulated"' },
          { path: 'host', before: null, after: '"h2"' },
          { path: 'name', before: null, after: '"web-3"' },
          { path: 'vifs.eth0.ip', before: null, after: '"10.10.0.13"' },
          { path: 'vifs.eth0.mac', before: null, after: '"02:5d:00:00:aa:03"' },
          { path: 'vifs.eth0.name', before: null, after: '"eth0"' },
          { path: 'vifs.eth0.vnet', before: null, after: '"front"' },
        ],
      },
      expect.objectContaining({ op: 'remove', kind: 'vm', name: 'db-1' }),
    ]);
    const empty = { added: [], changed: [], removed: [] };
    expect(plan.hosts).toEqual([
      // A vnet's state carries the names its resolver answers: web-2 and web-3 change front's, db-1 leaves back's.
      {
        host: 'h1', kind: 'changed', underlayChanged: false, vifs: { ...empty, removed: ['shop/db-1/eth0'] },
        vnets: { ...empty, changed: ['shop/front'], removed: ['shop/back'] }, routers: empty, firewalls: empty,
      },
      {
        host: 'h2', kind: 'changed', underlayChanged: false, vifs: { added: ['shop/web-3/eth0'], changed: [], removed: ['shop/web-2/eth0'] },
        vnets: { ...empty, changed: ['shop/front'] }, routers: empty, firewalls: empty,
      },
      {
        host: 'h3', kind: 'changed', underlayChanged: false, vifs: { ...empty, added: ['shop/web-2/eth0'] },
        vnets: { ...empty, changed: ['shop/front', 'shop/back'] }, routers: empty, firewalls: empty,
      },
    ]);
    expect(web1Mac).toMatch(/^02:5d:/);

    const text = await cli(['plan', path]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(
      [
        'farm shop: at revision 1, deployed revision 1',
        'model: 3 changes',
        '  ~ vm web-2',
        '      host: "h2" → "h3"',
        '      vifs.eth0.ip: "10.10.0.12" → "10.10.0.22"',
        '  + vm web-3',
      ].join('\n'),
    );
    expect(text.stdout).toContain('  - vm db-1\nhosts (on the next deploy): 3 change, 0 unchanged\n');
    expect(text.stdout).toContain('  ~ h2: ~vnet shop/front, +vif shop/web-3/eth0, -vif shop/web-2/eth0\n');
    expect(await farmState('shop')).toEqual(before);
  }, 120_000);

  it('a concurrent edit between plan and apply is a conflict (exit 4), never a lost update', async () => {
    const path = join(dir, 'changed.json');
    const planned = JSON.parse((await cli(['plan', path, '--json'])).stdout) as { revision: number };
    // Someone else edits the farm after the plan.
    const farm = await farmState('shop');
    await w.caller.farm.update({ id: farm!.id, expectedRevision: planned.revision, description: 'edited elsewhere' });
    const r = await cli(['apply', path, '--expected-revision', String(planned.revision)]);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(`expectedRevision: the farm changed since revision ${planned.revision} (it is now at ${planned.revision + 1}); plan again and retry`);
    const after = await farmState('shop');
    expect(after!.revision).toBe(planned.revision + 1);
    expect(after!.document.description).toBe('edited elsewhere');
    expect(after!.document.vms.map((vm) => vm.name)).toEqual(['app-1', 'db-1', 'web-1', 'web-2']);
  }, 120_000);

  it('bad files name the bad field and change nothing (exit 3)', async () => {
    const before = await farmState('shop');
    const good = JSON.stringify(twoTierFarm(), null, 2);
    const cases: [string, string, RegExp][] = [
      ['syntax.json', good.replace('"front",', '"front"'), /syntax\.json: not valid JSON: .* \(line \d+, column \d+\); nothing was changed/],
      ['unknown-key.json', JSON.stringify({ ...twoTierFarm(), vms: [{ name: 'x', colour: 'red' }] }), /unknown-key\.json: document\.vms\.0\.colour: /],
      ['wrong-type.json', JSON.stringify({ ...twoTierFarm(), vnets: [{ name: 'front', cidr: 10 }] }), /wrong-type\.json: document\.vnets\.0\.cidr: /],
      [
        'missing-vnet.json',
        JSON.stringify({ ...twoTierFarm(), vms: [{ name: 'web-1', host: 'h1', vifs: [{ vnet: 'nope' }] }] }),
        /document\.vms\.0\.vifs\.0\.vnet: no vnet named "nope" in this document/,
      ],
      ['missing-host.json', JSON.stringify({ ...twoTierFarm(), vms: [{ name: 'web-1', host: 'h9', vifs: [] }] }), /document\.vms\.0\.host: no host named "h9" in this deployment/],
    ];
    for (const [name, text, message] of cases) {
      const path = await file(name, text);
      for (const cmd of [['plan', path], ['apply', path, '--deploy', '--wait=5s']]) {
        const r = await cli(cmd);
        expect(r.code, `${cmd.join(' ')}: ${r.stderr}`).toBe(3);
        expect(r.stderr).toMatch(message);
        expect(r.stdout).toBe('');
      }
    }
    expect(await farmState('shop')).toEqual(before);
  }, 120_000);

  it('deploy --wait is non-zero and names the host that did not apply (a stopped agent)', async () => {
    await w.agents.h2.kill('SIGTERM');
    try {
      const r = await cli(['apply', join(dir, 'changed.json'), '--deploy', '--wait=4s']);
      expect(r.code).toBe(8);
      expect(r.stdout).toContain('farm shop: 4 changes applied, now at revision 3');
      expect(r.stderr).toMatch(/timed out after 4 s: applied on 2 of 3 hosts\n {2}host h2 \((online|offline)\) has not applied generation \d+/);
      expect(r.stderr).not.toMatch(/host h[13]/);
      // Deploying the same revision again sends nothing new, and still waits for (and names) the host that lacks it.
      const again = await cli(['deploy', 'shop', '--wait=2s']);
      expect(again.code).toBe(8);
      expect(again.stderr).toMatch(/waiting for its hosts/);
      expect(again.stderr).toMatch(/timed out after 2 s: applied on 2 of 3 hosts\n {2}host h2 /);
    } finally {
      await w.restartAgent('h2');
    }
    // Back up, the agent catches up and the same deploy completes.
    const done = await cli(['deploy', 'shop', '--wait=30s']);
    expect(done.stderr).toMatch(/applied on \d of \d host/);
    expect(done.code).toBe(0);
  }, 120_000);

  it('deploy --wait is non-zero and names the host whose agent rejects its state (exit 7)', async () => {
    // Another socket holds the underlay port h2 is told to use: h2's agent cannot bind it and rejects the state.
    const holder = createSocket({ type: 'udp4', reuseAddr: false });
    await new Promise<void>((ok) => holder.bind(0, '127.0.0.3', ok));
    await w.caller.host.update({ id: w.hostIds.h2, port: holder.address().port });
    try {
      const doc = changedFarm();
      const path = await file('web-4.json', { ...doc, vms: [...doc.vms!, { name: 'web-4', host: 'h2', vifs: [{ vnet: 'front', ip: '10.10.0.14' }] }] });
      const r = await cli(['apply', path, '--deploy', '--wait=20s']);
      expect(r.code, r.stderr).toBe(7);
      expect(r.stderr).toMatch(/deploy failed: applied on \d of \d hosts\n {2}host h2 cannot apply generation \d+: \S/);
      expect(r.stderr).not.toMatch(/host h[13]/);
    } finally {
      await w.caller.host.update({ id: w.hostIds.h2, port: w.underlayPort });
      holder.close();
    }
    const done = await cli(['deploy', 'shop', '--wait=30s']);
    expect(done.code, done.stderr).toBe(0);
  }, 120_000);

  it('lists farms and hosts, reads a farm, imports a copy (--json on every read)', async () => {
    const list = await cli(['farm', 'list', '--json']);
    expect(list.code).toBe(0);
    expect((JSON.parse(list.stdout) as { name: string }[]).map((f) => f.name)).toEqual(['shop']);
    const table = await cli(['farm', 'list']);
    expect(table.stdout).toMatch(/^NAME\s+REVISION\s+DEPLOYED/);
    const get = await cli(['farm', 'get', 'shop', '--json']);
    expect((JSON.parse(get.stdout) as { vms: { name: string }[] }).vms.map((vm) => vm.name).sort()).toEqual(['app-1', 'web-1', 'web-2', 'web-3', 'web-4']);
    const missing = await cli(['farm', 'get', 'nope']);
    expect(missing.code).toBe(6);
    const taken = await cli(['farm', 'import', join(dir, 'exported.json'), '--name', 'shop-copy']);
    expect(taken.code).toBe(4); // the vnet ids of the export are shop's
    expect(taken.stderr).toMatch(/document\.vnets\.\d\.vnid: vnet id \d+ is not available in this deployment/);
    const copy = await cli(['farm', 'import', join(dir, 'shop.json'), '--name', 'shop-copy', '--json']);
    expect(copy.code).toBe(0);
    expect(JSON.parse(copy.stdout)).toMatchObject({ name: 'shop-copy', revision: 1, counts: { vnets: 2, vms: 4, routers: 1 } });
    const hosts = await cli(['hosts']);
    expect(hosts.stdout).toMatch(/^NAME\s+ADDRESS/);
    expect(hosts.stdout).toContain('h1');
    const usage = await cli(['apply', join(dir, 'shop.json'), '--wait']);
    expect(usage.code).toBe(2);
  }, 120_000);

  it('traces a flow of the deployed farm hop by hop (exit 0), a dropped one (exit 9), and live', async () => {
    const ok = await cli(['trace', 'shop', 'web-1', '10.20.0.21', '--udp', '7']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain('trace udp 10.10.0.11 -> 10.20.0.21 port 7');
    expect(ok.stdout).toMatch(/ok {3}router router shop\/gw on h3: in by vnet\d+, out of vnet\d+: connected route/);
    expect(ok.stdout.trim().split('\n').at(-1)).toBe('delivered');
    const nobody = await cli(['trace', 'shop', 'web-1/eth0', '10.20.0.99', '--icmp', '--json']);
    expect(nobody.code).toBe(9);
    expect(JSON.parse(nobody.stdout)).toMatchObject({ verdict: 'dropped', hops: expect.arrayContaining([expect.objectContaining({ step: 'switch', verdict: 'drop' })]) });
    const live = await cli(['trace', 'shop', 'web-1', '10.20.0.21', '--live']);
    expect(live.code, live.stderr).toBe(0);
    expect(live.stdout).toMatch(/live: (MAC|VARP|no VARP|live route)/);
    expect((await cli(['trace', 'shop', 'web-1', '10.20.0.21', '--tcp'])).code).toBe(2);
    expect((await cli(['trace', 'shop', 'nope', '10.20.0.21'])).code).toBe(6);
    const bad = await cli(['trace', 'shop', 'web-1', '10.20.0']);
    expect(bad.code).toBe(3);
    expect(bad.stderr).toContain('to: must be an IPv4 address');
  }, 120_000);

  it('never printed the token', () => {
    expect(printed.length).toBeGreaterThan(40);
    expect(printed.join('\n')).not.toContain(token);
    expect(printed.join('\n')).not.toContain(loginToken);
  });
});
