// Infrastructure through the API: host and LAN segment CRUD, enrollment
// (one-time, expiring), credential revocation, and refused inputs — each
// answered with its code and field, with nothing stored changed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refused, setupIdentityApi, type IdentityFixture } from './identity-fixture.ts';
import { resolveActor } from '../server/identity/sessions.ts';
import { enroll } from '../server/hosts/hosts.ts';

let f: IdentityFixture;
beforeAll(async () => {
  f = await setupIdentityApi();
});
afterAll(async () => {
  await f?.drop();
});

const NIL = '00000000-0000-0000-0000-000000000000';

describe('hosts', () => {
  it('create, get, list with paging, update, delete', async () => {
    const admin = f.caller(f.admin);
    const a = await admin.host.create({ name: 'h-one', address: '127.0.0.2' });
    expect(a.host).toMatchObject({ name: 'h-one', address: '127.0.0.2', port: 1798, status: 'pending', enrolled: false, segmentId: null });
    expect(a.enrollmentToken).toMatch(/^sude_[A-Za-z0-9_-]{43}$/);
    expect(a.enrollmentExpiresAt.getTime() - Date.now()).toBeGreaterThan(59 * 60_000);
    const b = await admin.host.create({ name: 'h-two', address: '127.0.0.3', port: 1799 });
    const c = await admin.host.create({ name: 'h-three', address: '127.0.0.4' });
    expect(await f.caller(f.viewer).host.get({ id: b.host.id })).toMatchObject({ name: 'h-two', port: 1799 });

    const p1 = await f.caller(f.viewer).host.list({ limit: 2 });
    expect(p1.items.map((h) => h.name)).toEqual(['h-one', 'h-two']);
    const p2 = await f.caller(f.viewer).host.list({ limit: 2, cursor: p1.nextCursor! });
    expect(p2.items.map((h) => h.name)).toEqual(['h-three']);
    expect(p2.nextCursor).toBeNull();

    const up = await admin.host.update({ id: c.host.id, name: 'h-3', address: '127.0.0.5', port: 2000 });
    expect(up).toMatchObject({ name: 'h-3', address: '127.0.0.5', port: 2000 });
    expect(await admin.host.delete({ id: c.host.id })).toEqual({ id: c.host.id });
    await refused(admin.host.get({ id: c.host.id }), 'NOT_FOUND', 'id');
    const audit = await f.db.auditLog.findMany({ where: { entityId: c.host.id }, select: { action: true }, orderBy: { id: 'asc' } });
    expect(audit.map((x) => x.action)).toEqual(['host.create', 'host.update', 'host.delete']);
  });

  it('refuses to delete a host that carries VMs, routers or firewalls, and lists them', async () => {
    const admin = f.caller(f.admin);
    const h = await admin.host.create({ name: 'busy', address: '127.0.0.20' });
    const farm = await f.db.farm.create({ data: { tenantId: f.tenantA, name: 'shop' }, select: { id: true } });
    await f.db.vm.create({ data: { farmId: farm.id, name: 'web-1', hostId: h.host.id }, select: { id: true } });
    await f.db.router.create({ data: { farmId: farm.id, name: 'r1', hostId: h.host.id }, select: { id: true } });
    const other = await f.db.farm.create({ data: { tenantId: f.tenantB, name: 'secret-farm' }, select: { id: true } });
    await f.db.firewall.create({ data: { farmId: other.id, name: 'fw-b', hostId: h.host.id }, select: { id: true } });
    const before = await f.snapshot();
    const err = await refused(admin.host.delete({ id: h.host.id }), 'CONFLICT', 'id');
    expect(err.message).toContain('vm web-1 (farm shop)');
    expect(err.message).toContain('router r1 (farm shop)');
    expect(err.message).toContain('1 object(s) of other tenants');
    expect(err.message).not.toContain('secret-farm');
    expect(await f.snapshot()).toEqual(before);
  });
});

describe('enrollment', () => {
  it('is one-time, marks the host online and audits the host as actor', async () => {
    const h = await f.caller(f.admin).host.create({ name: 'enr-1', address: '127.0.0.30' });
    const out = await f.caller(null).host.enroll({ token: h.enrollmentToken, agentVersion: '1.2.3', capabilities: ['tap', 'emulated'] });
    expect(out).toMatchObject({ hostId: h.host.id, hostName: 'enr-1' });
    const host = await f.caller(f.viewer).host.get({ id: h.host.id });
    expect(host).toMatchObject({ status: 'online', enrolled: true, agentVersion: '1.2.3', capabilities: ['tap', 'emulated'] });
    expect(host.lastSeenAt).toBeInstanceOf(Date);
    const entry = await f.db.auditLog.findFirst({ where: { action: 'host.enroll', entityId: h.host.id } });
    expect(entry).toMatchObject({ actorKind: 'host', actorId: h.host.id, actorName: 'enr-1' });

    const before = await f.snapshot();
    await refused(f.caller(null).host.enroll({ token: h.enrollmentToken }), 'UNAUTHORIZED', 'token');
    await refused(f.caller(null).host.enroll({ token: 'sude_unknown' }), 'UNAUTHORIZED', 'token');
    expect(await f.snapshot()).toEqual(before);
  });

  it('expires, and a new token replaces the old one', async () => {
    const admin = f.caller(f.admin);
    const h = await admin.host.create({ name: 'enr-2', address: '127.0.0.31' });
    const t2 = await admin.host.createEnrollmentToken({ id: h.host.id, expiresInMinutes: 5 });
    expect(t2.expiresAt.getTime() - Date.now()).toBeLessThanOrEqual(5 * 60_000);
    // The first token stopped working when the second was made.
    await refused(f.caller(null).host.enroll({ token: h.enrollmentToken }), 'UNAUTHORIZED', 'token');
    // Past its expiry the second one is refused too, and stays unused.
    const later = new Date(Date.now() + 6 * 60_000);
    await expect(enroll({ db: f.db, token: t2.enrollmentToken, now: later })).rejects.toMatchObject({ code: 'UNAUTHORIZED', field: 'token' });
    expect(await f.db.enrollmentToken.count({ where: { hostId: h.host.id, usedAt: { not: null } } })).toBe(0);
    expect((await f.caller(null).host.enroll({ token: t2.enrollmentToken })).hostName).toBe('enr-2');
  });

  it('revokeCredential locks the agent out until it enrolls again', async () => {
    const admin = f.caller(f.admin);
    const h = await admin.host.create({ name: 'enr-3', address: '127.0.0.32' });
    const first = await f.caller(null).host.enroll({ token: h.enrollmentToken });
    expect(await resolveActor(f.db, { authorization: `Bearer ${first.credential}` })).toMatchObject({ kind: 'host' });
    const spare = await admin.host.createEnrollmentToken({ id: h.host.id });
    const revoked = await admin.host.revokeCredential({ id: h.host.id });
    expect(revoked).toMatchObject({ status: 'revoked', enrolled: false });
    expect(await resolveActor(f.db, { authorization: `Bearer ${first.credential}` })).toBeNull();
    // A token issued before the revocation does not let it back in.
    await refused(f.caller(null).host.enroll({ token: spare.enrollmentToken }), 'UNAUTHORIZED', 'token');
    const again = await admin.host.createEnrollmentToken({ id: h.host.id });
    const second = await f.caller(null).host.enroll({ token: again.enrollmentToken });
    expect(second.credential).not.toBe(first.credential);
    expect(await resolveActor(f.db, { authorization: `Bearer ${second.credential}` })).toMatchObject({ kind: 'host', hostId: h.host.id });
    expect(await resolveActor(f.db, { authorization: `Bearer ${first.credential}` })).toBeNull();
  });
});

describe('LAN segments', () => {
  it('create, get, list, update, delete; a relay must be in its segment', async () => {
    const admin = f.caller(f.admin);
    const relay = await admin.host.create({ name: 'relay-1', address: '127.0.0.60' });
    const seg = await admin.segment.create({ name: 'lab', description: 'lab LAN', relayHostId: relay.host.id });
    expect(seg).toMatchObject({ name: 'lab', multicast: true, multicastGroup: '224.10.0.1', proxyMode: false, relayHostId: relay.host.id, relayHostName: 'relay-1', hostCount: 1 });
    expect((await admin.host.get({ id: relay.host.id })).segmentName).toBe('lab');
    const member = await admin.host.create({ name: 'member-1', address: '127.0.0.61', segmentId: seg.id });
    const plain = await admin.segment.create({ name: 'office', multicast: false, multicastGroup: '239.1.2.3', proxyMode: true });
    expect(plain).toMatchObject({ multicast: false, multicastGroup: '239.1.2.3', proxyMode: true, relayHostId: null, hostCount: 0 });
    expect((await f.caller(f.viewer).segment.list()).items.map((s) => s.name)).toEqual(['lab', 'office']);
    expect(await f.caller(f.viewer).segment.get({ id: seg.id })).toMatchObject({ hostCount: 2 });

    const moved = await admin.segment.update({ id: seg.id, relayHostId: member.host.id, multicast: false });
    expect(moved).toMatchObject({ relayHostId: member.host.id, relayHostName: 'member-1', multicast: false });
    expect(await admin.host.list({ segmentId: seg.id })).toMatchObject({ items: [{ name: 'relay-1' }, { name: 'member-1' }] });

    const before = await f.snapshot();
    const err = await refused(admin.segment.delete({ id: seg.id }), 'CONFLICT', 'id');
    expect(err.message).toContain('member-1');
    expect(err.message).toContain('relay-1');
    expect(await f.snapshot()).toEqual(before);

    await admin.segment.update({ id: seg.id, relayHostId: null });
    await admin.host.update({ id: relay.host.id, segmentId: null });
    await admin.host.update({ id: member.host.id, segmentId: null });
    expect(await admin.segment.delete({ id: seg.id })).toEqual({ id: seg.id });
    const actions = (await f.db.auditLog.findMany({ where: { entityId: seg.id }, select: { action: true }, orderBy: { id: 'asc' } })).map((a) => a.action);
    expect(actions).toEqual(['segment.create', 'segment.update', 'segment.update', 'segment.delete']);
  });
});

describe('refused inputs (code, field, nothing changed)', () => {
  let ids: { host: string; relay: string; segment: string; otherHostSeg: string; bUser: string };
  beforeAll(async () => {
    const admin = f.caller(f.admin);
    const relay = await admin.host.create({ name: 'bad-relay', address: '127.0.0.70' });
    const seg = await admin.segment.create({ name: 'bad-seg', relayHostId: relay.host.id });
    const host = await admin.host.create({ name: 'bad-host', address: '127.0.0.71' });
    const other = await admin.segment.create({ name: 'bad-other' });
    const bUser = await f.db.user.findFirst({ where: { tenantId: f.tenantB }, select: { id: true } });
    ids = { host: host.host.id, relay: relay.host.id, segment: seg.id, otherHostSeg: other.id, bUser: bUser!.id };
  });

  const admin = () => f.caller(f.admin);
  const cases: Array<[string, () => Promise<unknown>, string, string]> = [
    ['username with capitals', () => admin().user.create({ username: 'Bad Name', password: 'long enough pw', role: 'viewer' }), 'BAD_REQUEST', 'username'],
    ['username too short', () => admin().user.create({ username: 'ab', password: 'long enough pw', role: 'viewer' }), 'BAD_REQUEST', 'username'],
    ['password under 12 characters', () => admin().user.create({ username: 'shorty', password: 'short', role: 'viewer' }), 'BAD_REQUEST', 'password'],
    ['username taken', () => admin().user.create({ username: 'victor-viewer', password: 'long enough pw', role: 'viewer' }), 'CONFLICT', 'username'],
    ['unknown role', () => admin().user.create({ username: 'rolly', password: 'long enough pw', role: 'root' as 'admin' }), 'BAD_REQUEST', 'role'],
    ['demoting the last admin', () => admin().user.update({ id: f.admin.userId, role: 'operator' }), 'CONFLICT', 'role'],
    ['disabling oneself', () => admin().user.update({ id: f.admin.userId, disabled: true }), 'BAD_REQUEST', 'disabled'],
    ['deleting oneself', () => admin().user.delete({ id: f.admin.userId }), 'BAD_REQUEST', 'id'],
    ['another tenant\'s user', () => admin().user.get({ id: ids.bUser }), 'NOT_FOUND', 'id'],
    ['user id not a uuid', () => admin().user.get({ id: 'abc' }), 'BAD_REQUEST', 'id'],
    ['token role above own', () => f.caller(f.viewer).apiToken.create({ name: 'x', role: 'operator' }), 'BAD_REQUEST', 'role'],
    ['token expiry of 0 days', () => admin().apiToken.create({ name: 'x', role: 'viewer', expiresInDays: 0 }), 'BAD_REQUEST', 'expiresInDays'],
    ['host address 0.0.0.0', () => admin().host.create({ name: 'zero', address: '0.0.0.0' }), 'BAD_REQUEST', 'address'],
    ['host address multicast', () => admin().host.create({ name: 'mc', address: '224.1.2.3' }), 'BAD_REQUEST', 'address'],
    ['host address broadcast', () => admin().host.create({ name: 'bc', address: '255.255.255.255' }), 'BAD_REQUEST', 'address'],
    ['host address not IPv4', () => admin().host.create({ name: 'bad', address: '10.0.0' }), 'BAD_REQUEST', 'address'],
    ['host address with leading zero', () => admin().host.create({ name: 'bad', address: '10.0.0.01' }), 'BAD_REQUEST', 'address'],
    ['host name with underscore', () => admin().host.create({ name: 'bad_name', address: '127.0.0.80' }), 'BAD_REQUEST', 'name'],
    ['host port 0', () => admin().host.create({ name: 'p0', address: '127.0.0.81', port: 0 }), 'BAD_REQUEST', 'port'],
    ['host port 65536', () => admin().host.update({ id: ids.host, port: 65536 }), 'BAD_REQUEST', 'port'],
    ['host address taken', () => admin().host.create({ name: 'dup', address: '127.0.0.71' }), 'CONFLICT', 'address'],
    ['host name taken', () => admin().host.update({ id: ids.host, name: 'bad-relay' }), 'CONFLICT', 'name'],
    ['host in unknown segment', () => admin().host.create({ name: 'lost', address: '127.0.0.82', segmentId: NIL }), 'NOT_FOUND', 'segmentId'],
    ['relay host leaving its segment', () => admin().host.update({ id: ids.relay, segmentId: ids.otherHostSeg }), 'CONFLICT', 'segmentId'],
    ['enrollment token lifetime 0', () => admin().host.createEnrollmentToken({ id: ids.host, expiresInMinutes: 0 }), 'BAD_REQUEST', 'expiresInMinutes'],
    ['segment group not multicast', () => admin().segment.create({ name: 'uni', multicastGroup: '10.1.2.3' }), 'BAD_REQUEST', 'multicastGroup'],
    ['segment name taken', () => admin().segment.update({ id: ids.otherHostSeg, name: 'bad-seg' }), 'CONFLICT', 'name'],
    ['segment name with a space', () => admin().segment.create({ name: 'my lan' }), 'BAD_REQUEST', 'name'],
    ['relay host outside the segment', () => admin().segment.update({ id: ids.otherHostSeg, relayHostId: ids.host }), 'BAD_REQUEST', 'relayHostId'],
    ['relay already in another segment', () => admin().segment.create({ name: 'third', relayHostId: ids.relay }), 'BAD_REQUEST', 'relayHostId'],
    ['unknown relay host', () => admin().segment.update({ id: ids.otherHostSeg, relayHostId: NIL }), 'NOT_FOUND', 'relayHostId'],
    ['deleting an unknown segment', () => admin().segment.delete({ id: NIL }), 'NOT_FOUND', 'id'],
    ['list cursor of another list', () => admin().host.list({ cursor: ids.segment }), 'BAD_REQUEST', 'cursor'],
    ['list limit 500', () => admin().host.list({ limit: 500 }), 'BAD_REQUEST', 'limit'],
    ['audit cursor not an id', () => admin().audit.list({ cursor: 'abc' }), 'BAD_REQUEST', 'cursor'],
  ];

  it.each(cases)('%s', async (_name, call, code, field) => {
    const before = await f.snapshot();
    await refused(call(), code as never, field);
    expect(await f.snapshot()).toEqual(before);
  });

  it('covers enough distinct inputs', () => {
    expect(new Set(cases.map((c) => c[0])).size).toBeGreaterThanOrEqual(12);
  });
});
