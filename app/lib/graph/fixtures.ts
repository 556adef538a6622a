// A small farm in the API's own output shape, shared by the graph tests.
import type { FarmDetail } from './elements.ts';

const t = new Date('2026-01-01T00:00:00Z');
export const FARM_ID = '00000000-0000-4000-8000-000000000001';
export const VNET_A = '00000000-0000-4000-8000-0000000000a1';
export const VNET_B = '00000000-0000-4000-8000-0000000000b1';
export const VM_1 = '00000000-0000-4000-8000-000000000011';
export const VM_2 = '00000000-0000-4000-8000-000000000012';
export const ROUTER = '00000000-0000-4000-8000-000000000021';
export const FIREWALL = '00000000-0000-4000-8000-000000000031';
export const HOST_1 = '00000000-0000-4000-8000-0000000000f1';
export const HOST_2 = '00000000-0000-4000-8000-0000000000f2';

export function sampleFarm(over: Partial<FarmDetail> = {}): FarmDetail {
  return {
    id: FARM_ID, name: 'shop', description: '', revision: 7, deployedRevision: 7, createdAt: t, updatedAt: t,
    counts: { vnets: 2, vms: 2, routers: 1, firewalls: 1 },
    vnets: [
      { id: VNET_A, farmId: FARM_ID, vnid: 100, name: 'front', cidr: '10.1.0.0/24', mtu: 1400, security: 'none', dhcp: { enabled: true, gateway: null, dnsServers: [], domain: null, leaseTime: 3600, routes: [] }, createdAt: t, updatedAt: t, vlans: [] },
      { id: VNET_B, farmId: FARM_ID, vnid: 101, name: 'back', cidr: '10.2.0.0/24', mtu: 1400, security: 'none', dhcp: { enabled: true, gateway: null, dnsServers: [], domain: null, leaseTime: 3600, routes: [] }, createdAt: t, updatedAt: t, vlans: [] },
    ],
    vms: [
      {
        id: VM_1, farmId: FARM_ID, name: 'web', hostId: HOST_1, hostName: 'h1', guestKind: 'emulated', bandwidthMbps: null, burstKb: null, locationVersion: 1, migratingToHostId: null, migrationStartedAt: null, migrationError: null, migrationErrorAt: null, migrationRetryAt: null, createdAt: t, updatedAt: t,
        vifs: [{ id: 'vif-1', vmId: VM_1, vnetId: VNET_A, name: 'eth0', mac: '02:00:00:00:00:01', ip: '10.1.0.10', securityGroups: [] }],
      },
      {
        id: VM_2, farmId: FARM_ID, name: 'db', hostId: HOST_2, hostName: 'h2', guestKind: 'emulated', bandwidthMbps: null, burstKb: null, locationVersion: 1, migratingToHostId: null, migrationStartedAt: null, migrationError: null, migrationErrorAt: null, migrationRetryAt: null, createdAt: t, updatedAt: t,
        vifs: [{ id: 'vif-2', vmId: VM_2, vnetId: VNET_B, name: 'eth0', mac: '02:00:00:00:00:02', ip: '10.2.0.10', securityGroups: [] }],
      },
    ],
    routers: [
      {
        id: ROUTER, farmId: FARM_ID, name: 'gw', hostId: HOST_1, hostName: 'h1', createdAt: t, updatedAt: t, staticRoutes: [],
        interfaces: [
          { id: 'rif-a', routerId: ROUTER, vnetId: VNET_A, ip: '10.1.0.1', prefixLen: 24, mac: '02:00:00:00:01:01', rip: false },
          { id: 'rif-b', routerId: ROUTER, vnetId: VNET_B, ip: '10.2.0.1', prefixLen: 24, mac: '02:00:00:00:01:02', rip: false },
        ],
      },
    ],
    routerLinks: [],
    externalLegs: [],
    firewalls: [
      {
        id: FIREWALL, farmId: FARM_ID, name: 'fw', hostId: null, hostName: null, defaultPolicy: 'deny', createdAt: t, updatedAt: t, rules: [],
        interfaces: [{ id: 'fif-a', firewallId: FIREWALL, name: 'eth0', vnetId: VNET_A, ip: '10.1.0.2', prefixLen: 24, mac: '02:00:00:00:02:01' }],
      },
    ],
    securityGroupMode: 'none',
    securityGroups: [],
    ...over,
  };
}
