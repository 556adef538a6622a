// Helpers for the farm-intent API tests: the error a call fails with, as a
// client would see it (code, field, message, details from the real error
// formatter), a small but complete farm, and a snapshot of what is stored.
import { getTRPCErrorShape, TRPCError } from '@trpc/server';
import { expect } from 'vitest';
import { appRouter } from '../server/routers/_app.ts';
import type { Caller } from './api.ts';

export interface CaughtError {
  code: string;
  field: string | null;
  message: string;
  details: unknown;
}

/** Runs `call`, expects it to fail, and returns the error shape an HTTP client would receive. */
export async function caught(call: Promise<unknown>): Promise<CaughtError> {
  try {
    await call;
  } catch (err) {
    if (!(err instanceof TRPCError)) throw err;
    const shape = getTRPCErrorShape({
      config: appRouter._def._config,
      error: err,
      type: 'unknown',
      path: undefined,
      input: undefined,
      ctx: undefined,
    });
    const data = shape.data as { code: string; field: string | null; details: unknown };
    return { code: data.code, field: data.field, message: shape.message, details: data.details };
  }
  throw new Error('expected the call to fail, but it succeeded');
}

export async function expectError(call: Promise<unknown>, code: string, field: string | null): Promise<CaughtError> {
  const e = await caught(call);
  expect({ code: e.code, field: e.field }, e.message).toEqual({ code, field });
  if (field !== null && e.code !== 'FORBIDDEN' && e.code !== 'UNAUTHORIZED') {
    // Messages of domain errors start with the field they blame.
    if (!e.message.startsWith('[')) {
      expect(e.message.startsWith(`${field}: `), e.message).toBe(true);
      // ... once: the message goes on to say what is wrong, not to name the field again.
      expect(e.message.startsWith(`${field}: ${field}:`), e.message).toBe(false);
    }
  }
  return e;
}

/** Everything a client can read about a farm: the whole-farm view, the document and the layout. */
export async function stored(caller: Caller, farmId: string) {
  const [farm, document, layout] = await Promise.all([
    caller.farm.get({ id: farmId }),
    caller.farm.export({ id: farmId }),
    caller.farm.getLayout({ farmId }),
  ]);
  return { farm, document, layout };
}

export interface SampleFarm {
  farmId: string;
  revision: number;
  front: string;
  back: string;
  web: string;
  app: string;
  router: string;
  firewall: string;
}

/**
 * Two tiers: vnets front (10.1.0.0/24) and back (10.2.0.0/24), VMs web
 * (front) and app (back), router r1 joining both with a static route, and a
 * firewall fw with outside/inside interfaces and two rules.
 */
export async function sampleFarm(caller: Caller, name = 'shop'): Promise<SampleFarm> {
  const farm = await caller.farm.create({ name, description: 'two tiers' });
  let rev = farm.revision;
  const front = await caller.vnet.create({ farmId: farm.id, expectedRevision: rev, name: 'front', cidr: '10.1.0.0/24' });
  rev = front.farmRevision;
  const back = await caller.vnet.create({ farmId: farm.id, expectedRevision: rev, name: 'back', cidr: '10.2.0.0/24', mtu: 9000 });
  rev = back.farmRevision;
  const web = await caller.vm.create({ farmId: farm.id, expectedRevision: rev, name: 'web', vifs: [{ vnetId: front.vnet.id, ip: '10.1.0.10' }] });
  rev = web.farmRevision;
  const app = await caller.vm.create({
    farmId: farm.id, expectedRevision: rev, name: 'app', guestKind: 'tap', vifs: [{ vnetId: back.vnet.id, ip: '10.2.0.10' }],
  });
  rev = app.farmRevision;
  const r1 = await caller.router.create({
    farmId: farm.id, expectedRevision: rev, name: 'r1',
    interfaces: [{ vnetId: front.vnet.id, ip: '10.1.0.1' }, { vnetId: back.vnet.id, ip: '10.2.0.1', rip: true }],
  });
  rev = r1.farmRevision;
  const route = await caller.router.addStaticRoute({
    routerId: r1.router.id, expectedRevision: rev, destination: '192.168.0.0/16', nextHop: '10.2.0.10',
  });
  rev = route.farmRevision;
  const fw = await caller.firewall.create({
    farmId: farm.id, expectedRevision: rev, name: 'fw', defaultPolicy: 'deny',
    interfaces: [{ name: 'outside', vnetId: front.vnet.id }, { name: 'inside', vnetId: back.vnet.id }],
    rules: [
      { action: 'allow', protocol: 'tcp', destination: '10.1.0.0/24', portFrom: 80, portTo: 443, interface: 'outside', description: 'web' },
      { action: 'allow', protocol: 'icmp', log: true },
    ],
  });
  rev = fw.farmRevision;
  return {
    farmId: farm.id, revision: rev, front: front.vnet.id, back: back.vnet.id, web: web.vm.id, app: app.vm.id,
    router: r1.router.id, firewall: fw.firewall.id,
  };
}
