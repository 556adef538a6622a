// The local demo: three hosts on loopback (127.0.0.2–127.0.0.4, LAN segment
// `local` without multicast) whose agents `npm start` runs beside the
// console, and two example farms deployed across them: "demo" (two tiers, a
// router and a firewall) and "dmz" (three tiers behind one firewall).
// Everything goes through the services (the same rules and audit trail as
// the API), never through raw rows.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { hashToken } from '../server/auth/tokens.ts';
import type { Db } from '../server/db/index.ts';
import { writeAudit } from '../server/audit/audit.ts';
import { deployFarm } from '../server/control/deploy.ts';
import { importFarm, parseFarmDocument } from '../server/farms/farms.ts';
import type { FarmDocumentInput } from '../server/farms/farmDocument.ts';
import { issueEnrollmentToken } from '../server/hosts/hostEnrollment.ts';
import { createHost, updateHost } from '../server/hosts/hosts.ts';
import { createSegment } from '../server/hosts/segments.ts';
import type { UserActor } from '../server/auth/actors.ts';
import { writeFileAtomic } from '../agent/control/store.ts';

export const LOCAL_SEGMENT = 'local';
export const DEMO_FARM = 'demo';
export const DMZ_FARM = 'dmz';
/** The audit action that marks the demo as seeded once, so a deleted demo farm stays deleted. */
export const DEMO_SEEDED_ACTION = 'demo.seed';
/** The same for the DMZ farm (its own mark: a console seeded before it existed gets it on its next start). */
export const DMZ_SEEDED_ACTION = 'demo.seed.dmz';
/** Where `npm start` keeps each local agent's state directory. */
export const DEFAULT_AGENTS_DIR = 'data/agents';
/** The one-time token the console hands a local agent that has not enrolled yet (mode 0600). */
export const ENROLL_TOKEN_FILE = 'enrollment-token';

export interface LocalHost {
  name: string;
  address: string;
  /** The agent's admin endpoint (metrics, state, ping) on 127.0.0.1. */
  adminPort: number;
}

export const LOCAL_HOSTS: readonly LocalHost[] = [
  { name: 'local-1', address: '127.0.0.2', adminPort: 9101 },
  { name: 'local-2', address: '127.0.0.3', adminPort: 9102 },
  { name: 'local-3', address: '127.0.0.4', adminPort: 9103 },
];

type Log = (msg: string, fields?: Record<string, unknown>) => void;

/** The first admin (created by ensureAdmin): the demo is set up in its name. */
export async function systemAdmin(db: Db): Promise<UserActor> {
  const u = await db.user.findFirst({
    where: { role: 'admin', disabled: false },
    orderBy: { createdAt: 'asc' },
    select: { id: true, tenantId: true, username: true },
  });
  if (!u) throw new Error('no admin user yet: run ensureAdmin first');
  return { kind: 'user', userId: u.id, tenantId: u.tenantId, username: u.username, role: 'admin' };
}

async function ensureSegment(db: Db, actor: UserActor): Promise<string> {
  const seg = await db.lanSegment.findUnique({ where: { name: LOCAL_SEGMENT }, select: { id: true } });
  if (seg) return seg.id;
  const created = await createSegment({
    db, actor, name: LOCAL_SEGMENT, multicast: false, description: 'loopback hosts of the local demo (127.0.0.2-127.0.0.4)',
  });
  return created.id;
}

/** Whether the credential stored for a local agent is the one the console knows. */
async function credentialIsCurrent(stateDir: string, credentialHash: string | null): Promise<boolean> {
  if (!credentialHash) return false;
  try {
    const stored = JSON.parse(await readFile(join(stateDir, 'credential.json'), 'utf8')) as { credential?: unknown };
    return typeof stored.credential === 'string' && hashToken(stored.credential) === credentialHash;
  } catch {
    return false;
  }
}

export interface LocalAgentPlan extends LocalHost {
  stateDir: string;
  /** True when a fresh enrollment token was written to `<stateDir>/enrollment-token`. */
  needsEnrollment: boolean;
}

/**
 * Makes sure the three local hosts exist and that each local agent can
 * connect: an agent whose stored credential the console does not know (a
 * new data directory, a reset database) loses its state directory and gets a
 * fresh one-time token instead. A revoked host is left alone.
 */
export async function ensureLocalHosts(db: Db, opts: { agentsDir?: string; log: Log }): Promise<LocalAgentPlan[]> {
  const agentsDir = opts.agentsDir ?? DEFAULT_AGENTS_DIR;
  const actor = await systemAdmin(db);
  const segmentId = await ensureSegment(db, actor);
  const plans: LocalAgentPlan[] = [];
  for (const h of LOCAL_HOSTS) {
    const stateDir = join(agentsDir, h.name);
    let row = await db.host.findUnique({ where: { name: h.name }, select: { id: true, segmentId: true, status: true, credentialHash: true } });
    if (!row) {
      const clash = await db.host.findUnique({ where: { address: h.address }, select: { name: true } });
      if (clash) {
        opts.log('local agent skipped: its address belongs to another host', { host: h.name, address: h.address, other: clash.name });
        continue;
      }
      const { host } = await createHost({ db, actor, name: h.name, address: h.address, segmentId });
      opts.log('local host created', { host: host.name, address: host.address });
      row = { id: host.id, segmentId, status: 'pending', credentialHash: null };
    } else if (row.segmentId === null) {
      await updateHost({ db, actor, id: row.id, segmentId });
    }
    if (row.status === 'revoked') {
      // Revocation is an admin's decision: the demo does not quietly undo it.
      opts.log('local agent skipped: its host credential was revoked (create an enrollment token to bring it back)', { host: h.name });
      continue;
    }
    if (await credentialIsCurrent(stateDir, row.credentialHash)) {
      await rm(join(stateDir, ENROLL_TOKEN_FILE), { force: true });
      plans.push({ ...h, stateDir, needsEnrollment: false });
      continue;
    }
    // A state directory from another database cannot be trusted: start it afresh.
    if (existsSync(stateDir)) await rm(stateDir, { recursive: true, force: true });
    await mkdir(stateDir, { recursive: true, mode: 0o700 });
    const hostId = row.id;
    const { token } = await db.$transaction(async (tx) => {
      const issued = await issueEnrollmentToken(tx, { hostId, createdById: actor.userId });
      await writeAudit(tx, { actor, tenantId: null, action: 'host.createEnrollmentToken', entity: 'host', entityId: hostId, after: { host: h.name, reason: 'local demo agent' } });
      return issued;
    });
    await writeFileAtomic(join(stateDir, ENROLL_TOKEN_FILE), token + '\n');
    plans.push({ ...h, stateDir, needsEnrollment: true });
  }
  return plans;
}

/**
 * The example farm: two tiers on two vnets, a router joining them, a
 * firewall between them, four emulated VMs spread over the three hosts.
 */
export function demoFarmDocument(): FarmDocumentInput {
  return {
    version: 'softudc.farm/v1',
    name: DEMO_FARM,
    description: 'Example two-tier farm: web servers in front, application and database behind a firewall',
    vnets: [
      { name: 'front', cidr: '10.10.0.0/24' },
      { name: 'back', cidr: '10.20.0.0/24' },
    ],
    vms: [
      { name: 'web-1', host: 'local-1', vifs: [{ name: 'eth0', vnet: 'front', ip: '10.10.0.11' }] },
      { name: 'web-2', host: 'local-2', vifs: [{ name: 'eth0', vnet: 'front', ip: '10.10.0.12' }] },
      { name: 'app-1', host: 'local-3', vifs: [{ name: 'eth0', vnet: 'back', ip: '10.20.0.21' }] },
      { name: 'db-1', host: 'local-1', vifs: [{ name: 'eth0', vnet: 'back', ip: '10.20.0.31' }] },
    ],
    routers: [
      {
        name: 'gw',
        host: 'local-2',
        interfaces: [
          { vnet: 'front', ip: '10.10.0.1' },
          { vnet: 'back', ip: '10.20.0.1' },
        ],
      },
    ],
    firewalls: [
      {
        name: 'fw',
        host: 'local-3',
        defaultPolicy: 'deny',
        interfaces: [
          { name: 'outside', vnet: 'front', ip: '10.10.0.254' },
          { name: 'inside', vnet: 'back', ip: '10.20.0.254' },
        ],
        rules: [
          { action: 'allow', protocol: 'icmp', source: '10.10.0.0/24', destination: '10.20.0.0/24', description: 'ping from the web tier' },
          { action: 'allow', protocol: 'tcp', source: '10.10.0.0/24', destination: '10.20.0.21/32', portFrom: 8080, portTo: 8080, description: 'web to app' },
          { action: 'allow', protocol: 'tcp', source: '10.20.0.21/32', destination: '10.20.0.31/32', portFrom: 5432, portTo: 5432, description: 'app to database' },
        ],
      },
    ],
    layout: {
      'vnet:front': { x: 200, y: 120 },
      'vnet:back': { x: 200, y: 360 },
      'vm:web-1': { x: 80, y: 20 },
      'vm:web-2': { x: 320, y: 20 },
      'vm:app-1': { x: 80, y: 460 },
      'vm:db-1': { x: 320, y: 460 },
      'router:gw': { x: 60, y: 240 },
      'firewall:fw': { x: 340, y: 240 },
    },
  };
}

/** The DMZ farm's tiers: the web tier faces outside (the DMZ), app and database sit behind it. */
export const DMZ_NETS = { web: '10.50.1.0/24', app: '10.50.2.0/24', db: '10.50.3.0/24' } as const;

/**
 * A three-tier DMZ (seed 002: virtual firewalls, DMZs): one firewall is the
 * gateway of all three vnets. The web tier is reachable from anywhere on
 * HTTP, HTTPS and ping; the app tier only from the web tier; the database
 * only from the app tier, on PostgreSQL's port. Everything else is denied
 * (and counted); replies of allowed connections pass by connection tracking.
 */
export function dmzFarmDocument(): FarmDocumentInput {
  const { web, app, db } = DMZ_NETS;
  return {
    version: 'softudc.farm/v1',
    name: DMZ_FARM,
    description: 'Three tiers behind one firewall: web in the DMZ, app reachable only from web, database only from app',
    vnets: [
      { name: 'web', cidr: web },
      { name: 'app', cidr: app },
      { name: 'db', cidr: db },
    ],
    vms: [
      { name: 'www-1', host: 'local-1', vifs: [{ name: 'eth0', vnet: 'web', ip: '10.50.1.11' }] },
      { name: 'www-2', host: 'local-2', vifs: [{ name: 'eth0', vnet: 'web', ip: '10.50.1.12' }] },
      { name: 'api-1', host: 'local-3', vifs: [{ name: 'eth0', vnet: 'app', ip: '10.50.2.21' }] },
      { name: 'pg-1', host: 'local-1', vifs: [{ name: 'eth0', vnet: 'db', ip: '10.50.3.31' }] },
    ],
    firewalls: [
      {
        name: 'edge',
        host: 'local-2',
        defaultPolicy: 'deny',
        interfaces: [
          { name: 'outside', vnet: 'web', ip: '10.50.1.1' },
          { name: 'app', vnet: 'app', ip: '10.50.2.1' },
          { name: 'db', vnet: 'db', ip: '10.50.3.1' },
        ],
        rules: [
          { action: 'allow', protocol: 'tcp', destination: web, portFrom: 80, portTo: 80, description: 'HTTP to the web tier' },
          { action: 'allow', protocol: 'tcp', destination: web, portFrom: 443, portTo: 443, description: 'HTTPS to the web tier' },
          { action: 'allow', protocol: 'icmp', destination: web, description: 'ping the web tier' },
          { action: 'allow', protocol: 'any', source: web, destination: app, interface: 'outside', description: 'the app tier, from the web tier only' },
          { action: 'allow', protocol: 'tcp', source: app, destination: db, portFrom: 5432, portTo: 5432, interface: 'app', description: 'PostgreSQL, from the app tier only' },
        ],
      },
    ],
    layout: {
      'vnet:web': { x: 200, y: 120 },
      'vnet:app': { x: 200, y: 320 },
      'vnet:db': { x: 200, y: 520 },
      'vm:www-1': { x: 80, y: 20 },
      'vm:www-2': { x: 320, y: 20 },
      'vm:api-1': { x: 60, y: 420 },
      'vm:pg-1': { x: 60, y: 620 },
      'firewall:edge': { x: 400, y: 320 },
    },
  };
}

const EXAMPLES = [
  { name: DEMO_FARM, action: DEMO_SEEDED_ACTION, document: demoFarmDocument },
  { name: DMZ_FARM, action: DMZ_SEEDED_ACTION, document: dmzFarmDocument },
] as const;

/**
 * Imports and deploys each example farm once (first start; a farm added
 * later is seeded on the next start). Returns whether it seeded any. The
 * deploy records the desired state of every host and returns without
 * waiting: the agents pick it up when they connect.
 */
export async function seedDemoFarm(db: Db, opts: { log: Log }): Promise<'seeded' | 'already'> {
  const actor = await systemAdmin(db);
  let seededAny = false;
  for (const ex of EXAMPLES) {
    const seeded = await db.auditLog.findFirst({ where: { action: ex.action }, select: { id: true } });
    if (seeded) continue;
    const existing = await db.farm.findFirst({ where: { tenantId: actor.tenantId, name: ex.name }, select: { id: true } });
    const farmId = existing?.id ?? (await importFarm({ db, actor, document: parseFarmDocument(ex.document()), vnids: 'auto' })).id;
    await deployFarm({ db, actor, id: farmId });
    await writeAudit(db, { actor, action: ex.action, entity: 'farm', entityId: farmId, after: { farm: ex.name } });
    opts.log('example farm deployed', { farm: ex.name, hosts: LOCAL_HOSTS.map((h) => h.name) });
    seededAny = true;
  }
  return seededAny ? 'seeded' : 'already';
}
