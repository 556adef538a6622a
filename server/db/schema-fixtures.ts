// One row of every model, every scalar field given a non-default value, in
// an order that satisfies the foreign keys. Used by schema.test.ts to
// round-trip each column through the generated client. Values probe the
// edges a mismatch would break: millisecond timestamps, 64-bit integers past
// 2^53, nested JSON, every enum.
import type { Prisma } from './generated/client.ts';

const at = (ms: number) => new Date(Date.UTC(2026, 0, 2, 3, 4, 5, ms));
const id = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;

export const ids = {
  tenant: id(1), user: id(2), session: id(3), apiToken: id(4), segment: id(5), host: id(6),
  enrollment: id(7), farm: id(8), vnet: id(9), vm: id(10), vif: id(11), routerA: id(12),
  routerB: id(13), routerIf: id(14), route: id(15), link: id(16), firewall: id(17),
  firewallIf: id(18), rule: id(19), revision: id(20), deployment: id(21), command: id(22),
  vnetKey: id(23), vnetVlan: id(24), sgA: id(25), sgB: id(26), sgRule: id(27),
  extNet: id(30), extBinding: id(31), extLeg: id(32), extAddress: id(33), portForward: id(34),
};

export type ModelName = Prisma.ModelName;

export interface Fixture {
  model: ModelName;
  /** Primary-key selector for findUnique/update/delete. */
  where: Record<string, unknown>;
  data: Record<string, unknown>;
  update: Record<string, unknown>;
}

const f = <C, U>(model: ModelName, where: Record<string, unknown>, data: C, update: U): Fixture => ({
  model,
  where,
  data: data as Record<string, unknown>,
  update: update as Record<string, unknown>,
});

/** In creation order; delete in reverse. */
export function fixtures(): Fixture[] {
  const { tenant, user, host, farm, vnet, vm, routerA, routerB, firewall, firewallIf } = ids;
  return [
    f('Tenant', { id: tenant }, { id: tenant, name: 'acme', createdAt: at(1) } satisfies Prisma.TenantUncheckedCreateInput,
      { name: 'acme-2' } satisfies Prisma.TenantUncheckedUpdateInput),
    f('User', { id: user }, {
      id: user, tenantId: tenant, username: 'alice', displayName: 'Alice', passwordHash: 'scrypt$1$aa$bb',
      role: 'operator', disabled: true, createdAt: at(2), updatedAt: at(3),
    } satisfies Prisma.UserUncheckedCreateInput, { role: 'admin', disabled: false } satisfies Prisma.UserUncheckedUpdateInput),
    f('Session', { id: ids.session }, {
      id: ids.session, userId: user, tokenHash: 'a'.repeat(64), createdAt: at(4), lastSeenAt: at(5), expiresAt: at(6),
    } satisfies Prisma.SessionUncheckedCreateInput, { lastSeenAt: at(7) } satisfies Prisma.SessionUncheckedUpdateInput),
    f('ApiToken', { id: ids.apiToken }, {
      id: ids.apiToken, tenantId: tenant, userId: user, name: 'ci', prefix: 'sudc_abc', tokenHash: 'b'.repeat(64),
      role: 'viewer', createdAt: at(8), lastUsedAt: at(9), expiresAt: at(10), revokedAt: at(11),
    } satisfies Prisma.ApiTokenUncheckedCreateInput, { revokedAt: null, role: 'operator' } satisfies Prisma.ApiTokenUncheckedUpdateInput),
    // relayHostId is filled in by the update: the host does not exist yet.
    f('LanSegment', { id: ids.segment }, {
      id: ids.segment, name: 'lan-a', description: 'rack A', multicast: false, multicastGroup: '239.1.2.3',
      relayHostId: null, proxyMode: true, createdAt: at(12), updatedAt: at(13),
    } satisfies Prisma.LanSegmentUncheckedCreateInput, { relayHostId: host } satisfies Prisma.LanSegmentUncheckedUpdateInput),
    f('Host', { id: host }, {
      id: host, name: 'h1', address: '127.0.0.2', port: 1799, segmentId: ids.segment, status: 'online',
      lastSeenAt: at(14), agentVersion: '0.1.0', capabilities: ['tap', { netns: true }], dnsUpstream: ['192.0.2.53'], credentialHash: 'c'.repeat(64),
      desiredGeneration: 2_147_483_647, appliedGeneration: 41, createdAt: at(15), updatedAt: at(16),
    } satisfies Prisma.HostUncheckedCreateInput, { status: 'revoked', capabilities: [] } satisfies Prisma.HostUncheckedUpdateInput),
    f('EnrollmentToken', { id: ids.enrollment }, {
      id: ids.enrollment, hostId: host, tokenHash: 'd'.repeat(64), createdById: user, createdAt: at(17),
      expiresAt: at(18), usedAt: at(19),
    } satisfies Prisma.EnrollmentTokenUncheckedCreateInput, { usedAt: null } satisfies Prisma.EnrollmentTokenUncheckedUpdateInput),
    f('HostDesiredState', { hostId: host }, {
      hostId: host, generation: 41, hash: 'e'.repeat(64), state: { host: 'h1', generation: 41, vnets: [] }, updatedAt: at(43),
    } satisfies Prisma.HostDesiredStateUncheckedCreateInput,
    { generation: 42, state: { host: 'h1', generation: 42, vnets: [{ id: 7 }] } } satisfies Prisma.HostDesiredStateUncheckedUpdateInput),
    f('HostReport', { hostId: host }, {
      hostId: host, appliedGeneration: 40, report: { vifs: [], counters: { rx: 2 ** 40 } }, receivedAt: at(44),
    } satisfies Prisma.HostReportUncheckedCreateInput, { appliedGeneration: 41 } satisfies Prisma.HostReportUncheckedUpdateInput),
    f('AgentCommand', { id: ids.command }, {
      id: ids.command, hostId: host, kind: 'router.ping', args: { routerId: 'web/r1', target: '10.7.0.10', count: 3 },
      status: 'running', results: [{ type: 'reply', seq: 1, rttMs: 0.25 }], resultCount: 1, error: 'host busy',
      createdById: user, createdAt: at(47), expiresAt: at(48),
    } satisfies Prisma.AgentCommandUncheckedCreateInput, { status: 'done', resultCount: 2, error: null } satisfies Prisma.AgentCommandUncheckedUpdateInput),
    f('Farm', { id: farm }, {
      id: farm, tenantId: tenant, name: 'web', description: 'three tiers', revision: 7, deployedRevision: 6,
      securityGroupMode: 'default', createdAt: at(20), updatedAt: at(21),
    } satisfies Prisma.FarmUncheckedCreateInput,
    { revision: 8, deployedRevision: null, securityGroupMode: 'none' } satisfies Prisma.FarmUncheckedUpdateInput),
    f('Deployment', { id: ids.deployment }, {
      id: ids.deployment, farmId: farm, kind: 'deploy', revision: 6, targets: [{ hostId: host, host: 'h1', generation: 41 }],
      createdById: user, createdAt: at(45), completedAt: at(46), missing: 3,
    } satisfies Prisma.DeploymentUncheckedCreateInput, { completedAt: null, missing: 0 } satisfies Prisma.DeploymentUncheckedUpdateInput),
    f('DeploymentTarget', { deploymentId_hostId: { deploymentId: ids.deployment, hostId: host } }, {
      deploymentId: ids.deployment, hostId: host, generation: 2_147_483_647,
    } satisfies Prisma.DeploymentTargetUncheckedCreateInput, { generation: 41 } satisfies Prisma.DeploymentTargetUncheckedUpdateInput),
    f('Vnet', { id: vnet }, {
      id: vnet, farmId: farm, vnid: 4_294_967_295n, name: 'dmz', cidr: '10.7.0.0/24', mtu: 1380, security: 'conf', dhcp: { enabled: false, gateway: '10.7.0.1', dnsServers: ['10.7.0.53'], domain: 'dmz.example', leaseTime: 600 },
      createdAt: at(22), updatedAt: at(23),
    } satisfies Prisma.VnetUncheckedCreateInput, { security: 'auth', vnid: 7n } satisfies Prisma.VnetUncheckedUpdateInput),
    f('VnetKey', { id: ids.vnetKey }, {
      id: ids.vnetKey, vnetId: vnet, keyId: 4_294_967_295n, key: new Uint8Array(32).fill(0xa5), salt: new Uint8Array([1, 2, 3, 4]),
      createdAt: at(49), activatedAt: at(50), retiredAt: null,
    } satisfies Prisma.VnetKeyUncheckedCreateInput, { retiredAt: at(51), key: new Uint8Array(0) } satisfies Prisma.VnetKeyUncheckedUpdateInput),
    f('VnetVlan', { id: ids.vnetVlan }, {
      id: ids.vnetVlan, vnetId: vnet, hostId: host, interface: 'enp0s31f6.ext', vid: 4094, createdAt: at(52),
    } satisfies Prisma.VnetVlanUncheckedCreateInput, { vid: 1, interface: 'eth1' } satisfies Prisma.VnetVlanUncheckedUpdateInput),
    f('Vm', { id: vm }, {
      id: vm, farmId: farm, name: 'web-1', hostId: host, guestKind: 'tap', locationVersion: 3, bandwidthMbps: 100_000,
      burstKb: 512, migratingToHostId: host, migrationById: user, migrationStartedAt: at(65),
      migrationError: 'host h2 cannot run tap guests', migrationErrorAt: at(66), migrationRetryAt: at(67), migrationFailures: 2_147_483_647,
      createdAt: at(24), updatedAt: at(25),
    } satisfies Prisma.VmUncheckedCreateInput,
    { hostId: null, locationVersion: 4, bandwidthMbps: null, migratingToHostId: null, migrationError: null, migrationFailures: 0 } satisfies Prisma.VmUncheckedUpdateInput),
    f('Vif', { id: ids.vif }, {
      id: ids.vif, vmId: vm, vnetId: vnet, name: 'eth0', mac: '02:5d:00:00:00:0a', ip: '10.7.0.10', serial: 4242, createdAt: at(26),
      updatedAt: at(27),
    } satisfies Prisma.VifUncheckedCreateInput, { ip: '10.7.0.11' } satisfies Prisma.VifUncheckedUpdateInput),
    f('SecurityGroup', { id: ids.sgA }, {
      id: ids.sgA, farmId: farm, name: 'default', description: 'members talk', createdAt: at(56), updatedAt: at(57),
    } satisfies Prisma.SecurityGroupUncheckedCreateInput, { name: 'web' } satisfies Prisma.SecurityGroupUncheckedUpdateInput),
    f('SecurityGroup', { id: ids.sgB }, {
      id: ids.sgB, farmId: farm, name: 'db', description: '', createdAt: at(58), updatedAt: at(59),
    } satisfies Prisma.SecurityGroupUncheckedCreateInput, { description: 'databases' } satisfies Prisma.SecurityGroupUncheckedUpdateInput),
    f('SecurityRule', { id: ids.sgRule }, {
      id: ids.sgRule, groupId: ids.sgB, position: 3, direction: 'ingress', protocol: 'icmp', portFrom: null, portTo: null,
      icmpType: 8, icmpCode: 0, remoteCidr: null, remoteGroupId: ids.sgA, description: 'ping from web', createdAt: at(60),
    } satisfies Prisma.SecurityRuleUncheckedCreateInput,
    { protocol: 'tcp', icmpType: null, icmpCode: null, portFrom: 5432, portTo: 5433, remoteCidr: '10.0.0.0/8', remoteGroupId: null } satisfies Prisma.SecurityRuleUncheckedUpdateInput),
    f('VifSecurityGroup', { vifId_groupId: { vifId: ids.vif, groupId: ids.sgA } }, {
      vifId: ids.vif, groupId: ids.sgA,
    } satisfies Prisma.VifSecurityGroupUncheckedCreateInput, { groupId: ids.sgA } satisfies Prisma.VifSecurityGroupUncheckedUpdateInput),
    f('Router', { id: routerA }, {
      id: routerA, farmId: farm, name: 'r1', hostId: host, createdAt: at(28), updatedAt: at(29),
    } satisfies Prisma.RouterUncheckedCreateInput, { name: 'r1-edge' } satisfies Prisma.RouterUncheckedUpdateInput),
    f('Router', { id: routerB }, {
      id: routerB, farmId: farm, name: 'r2', hostId: null, createdAt: at(30), updatedAt: at(31),
    } satisfies Prisma.RouterUncheckedCreateInput, { hostId: host } satisfies Prisma.RouterUncheckedUpdateInput),
    f('RouterInterface', { id: ids.routerIf }, {
      id: ids.routerIf, routerId: routerA, vnetId: vnet, ip: '10.7.0.1', prefixLen: 24, mac: '02:5d:00:00:00:01',
      rip: true, createdAt: at(32), updatedAt: at(33),
    } satisfies Prisma.RouterInterfaceUncheckedCreateInput, { rip: false } satisfies Prisma.RouterInterfaceUncheckedUpdateInput),
    f('StaticRoute', { id: ids.route }, {
      id: ids.route, routerId: routerA, destination: '192.0.2.0/24', nextHop: '10.7.0.254', metric: 20, createdAt: at(34),
    } satisfies Prisma.StaticRouteUncheckedCreateInput, { metric: 5 } satisfies Prisma.StaticRouteUncheckedUpdateInput),
    f('RouterLink', { id: ids.link }, {
      id: ids.link, farmId: farm, routerAId: routerA, routerBId: routerB, cidr: '10.255.0.0/30', ipA: '10.255.0.1',
      ipB: '10.255.0.2', rip: true, vnid: 4_294_967_000n, createdAt: at(35),
    } satisfies Prisma.RouterLinkUncheckedCreateInput, { cidr: '10.255.0.0/31' } satisfies Prisma.RouterLinkUncheckedUpdateInput),
    f('Firewall', { id: firewall }, {
      id: firewall, farmId: farm, name: 'fw', hostId: host, defaultPolicy: 'allow', createdAt: at(36), updatedAt: at(37),
    } satisfies Prisma.FirewallUncheckedCreateInput, { defaultPolicy: 'deny' } satisfies Prisma.FirewallUncheckedUpdateInput),
    f('FirewallInterface', { id: firewallIf }, {
      id: firewallIf, firewallId: firewall, name: 'outside', vnetId: vnet, ip: '10.7.0.2', prefixLen: 24,
      mac: '02:5d:00:00:00:02', createdAt: at(38),
    } satisfies Prisma.FirewallInterfaceUncheckedCreateInput, { name: 'dmz' } satisfies Prisma.FirewallInterfaceUncheckedUpdateInput),
    f('FirewallRule', { id: ids.rule }, {
      id: ids.rule, firewallId: firewall, position: 10, action: 'allow', protocol: 'tcp', source: '198.51.100.0/24',
      destination: '10.7.0.10/32', portFrom: 80, portTo: 443, interfaceId: firewallIf, log: true,
      description: 'web in', createdAt: at(39),
    } satisfies Prisma.FirewallRuleUncheckedCreateInput,
    { protocol: 'icmp', portFrom: null, portTo: null } satisfies Prisma.FirewallRuleUncheckedUpdateInput),
    f('ExternalNetwork', { id: ids.extNet }, {
      id: ids.extNet, segmentId: ids.segment, name: 'uplink', description: 'rack A uplink', cidr: '198.51.100.0/24',
      gateway: '198.51.100.1', poolStart: '198.51.100.10', poolEnd: '198.51.100.250', createdAt: at(56), updatedAt: at(57),
    } satisfies Prisma.ExternalNetworkUncheckedCreateInput, { poolEnd: '198.51.100.200' } satisfies Prisma.ExternalNetworkUncheckedUpdateInput),
    f('ExternalNetworkBinding', { id: ids.extBinding }, {
      id: ids.extBinding, externalNetworkId: ids.extNet, hostId: host, interface: 'enp1s0', vid: 4094, createdAt: at(58),
    } satisfies Prisma.ExternalNetworkBindingUncheckedCreateInput, { vid: null } satisfies Prisma.ExternalNetworkBindingUncheckedUpdateInput),
    f('ExternalLeg', { id: ids.extLeg }, {
      id: ids.extLeg, farmId: farm, externalNetworkId: ids.extNet, routerId: routerA, firewallId: null, ip: '198.51.100.10',
      mac: '02:5d:00:00:00:ee', snat: ['10.7.0.0/24'], vnid: 4_294_966_000n, createdAt: at(59), updatedAt: at(60),
    } satisfies Prisma.ExternalLegUncheckedCreateInput, { snat: [] } satisfies Prisma.ExternalLegUncheckedUpdateInput),
    f('ExternalAddress', { id: ids.extAddress }, {
      id: ids.extAddress, externalNetworkId: ids.extNet, ip: '198.51.100.11', legId: ids.extLeg, vifId: ids.vif, createdAt: at(61),
    } satisfies Prisma.ExternalAddressUncheckedCreateInput, { ip: '198.51.100.12' } satisfies Prisma.ExternalAddressUncheckedUpdateInput),
    f('PortForward', { id: ids.portForward }, {
      id: ids.portForward, legId: ids.extLeg, protocol: 'udp', externalPort: 65_535, vifId: ids.vif, internalPort: 1, createdAt: at(62),
    } satisfies Prisma.PortForwardUncheckedCreateInput, { protocol: 'tcp', externalPort: 8080 } satisfies Prisma.PortForwardUncheckedUpdateInput),
    f('FarmRevision', { id: ids.revision }, {
      id: ids.revision, farmId: farm, revision: 6, snapshot: { vnets: [{ vnid: 7, name: 'dmz' }], note: 'ü ✓' },
      createdById: user, createdAt: at(40),
    } satisfies Prisma.FarmRevisionUncheckedCreateInput, { createdById: null } satisfies Prisma.FarmRevisionUncheckedUpdateInput),
    f('DesignerLayout', { farmId: farm }, {
      farmId: farm, positions: { [vm]: { x: 1.5, y: -2 } }, updatedAt: at(41),
    } satisfies Prisma.DesignerLayoutUncheckedCreateInput, { positions: {} } satisfies Prisma.DesignerLayoutUncheckedUpdateInput),
    f('AuditLog', { id: 9_007_199_254_740_993n }, {
      id: 9_007_199_254_740_993n, tenantId: tenant, actorId: user, actorKind: 'user', actorName: 'alice',
      action: 'farm.update', entity: 'farm', entityId: farm, before: { name: 'old' }, after: { name: 'web' },
      createdAt: at(42),
    } satisfies Prisma.AuditLogUncheckedCreateInput, { after: { name: 'web', n: [1, 2] } } satisfies Prisma.AuditLogUncheckedUpdateInput),
    f('DeploymentSecret', { name: 'varp' }, {
      name: 'varp', value: new Uint8Array(32).fill(0x5a), createdAt: at(52), updatedAt: at(53),
    } satisfies Prisma.DeploymentSecretUncheckedCreateInput, { value: new Uint8Array([0, 255]) } satisfies Prisma.DeploymentSecretUncheckedUpdateInput),
    f('FarmContribution', { farmId: farm }, {
      farmId: farm, revision: 6, format: 1, hostIds: [host], unknownHosts: ['h9'], part: { farmId: farm, hosts: [], sealedVnids: [7] },
      warnings: ['ü ✓'], updatedAt: at(55),
    } satisfies Prisma.FarmContributionUncheckedCreateInput, { hostIds: [] } satisfies Prisma.FarmContributionUncheckedUpdateInput),
    f('VmLocation', { vmId: vm }, {
      vmId: vm, hostId: host, version: 2_147_483_647, updatedAt: at(54),
    } satisfies Prisma.VmLocationUncheckedCreateInput, { version: 3 } satisfies Prisma.VmLocationUncheckedUpdateInput),
  ];
}
