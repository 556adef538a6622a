import { describe, expect, it } from 'vitest';
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { leaseRows, remainingText, type HostServices } from '../lib/host-services.ts';
import { HostServicesSection } from './host-services.tsx';
import { upstreamOfText } from './host-upstream.tsx';

const NOW = 1_700_000_000_000;
const services: HostServices = {
  vnets: [
    { vnet: 100, name: 'shop/front', resolver: '10.1.0.254', leases: 2, dhcpReplies: 8, dhcpDrops: 1, dnsAnswers: 31, dnsForwarded: 4, dnsDrops: 2 },
    { vnet: 101, name: 'shop/back', leases: 0, dhcpReplies: 0, dhcpDrops: 0, dnsAnswers: 0, dnsForwarded: 0, dnsDrops: 0 },
  ],
  leases: [
    { vif: 'v1', vnet: 100, mac: '02:5d:00:00:00:01', ip: '10.1.0.10', hostName: 'web-1', ackedAt: NOW - 60_000, leaseTime: 3600 },
    { vif: 'v2', vnet: 100, mac: '02:5d:00:00:00:02', ip: '10.1.0.11', hostName: null, ackedAt: NOW - 1_000, leaseTime: 90 },
    { vif: 'v3', vnet: 100, mac: '02:5d:00:00:00:03', ip: '10.1.0.12', hostName: 'old', ackedAt: NOW - 7_200_000, leaseTime: 3600 },
  ],
};

describe('the host page: DHCP and DNS', () => {
  it('lists live leases newest first with their vnet and time left, leaving expired ones out', () => {
    expect(leaseRows(services, NOW).map((l) => [l.vif, l.vnetName, l.remainingS])).toEqual([['v2', 'shop/front', 89], ['v1', 'shop/front', 3540]]);
    expect(leaseRows(undefined, NOW)).toEqual([]);
    expect(leaseRows({ vnets: services.vnets }, NOW)).toEqual([]); // summary detail: counts only
    expect([remainingText(40), remainingText(3540), remainingText(7500)]).toEqual(['40 s', '59 min', '2 h 5 min']);
  });

  it('renders the counts per vnet, the leases and the upstream resolvers', () => {
    const html = renderToStaticMarkup(createElement(HostServicesSection, { services, upstream: ['192.0.2.53'], now: NOW }));
    expect(html).toContain('DHCP and DNS (2 vnets)');
    expect(html).toContain('Upstream resolvers: 192.0.2.53');
    expect(html).toMatch(/<th scope="row" title="vnet 100">shop\/front<\/th><td>10\.1\.0\.254<\/td><td>2<\/td><td>8<\/td><td>1<\/td><td>31<\/td><td>4<\/td><td>2<\/td>/);
    expect(html).toMatch(/web-1<\/th><td><code>02:5d:00:00:00:01<\/code><\/td><td>10\.1\.0\.10<\/td><td>shop\/front<\/td><td>59 min<\/td>/);
    expect(html).not.toContain('10.1.0.12');
    const empty = renderToStaticMarkup(createElement(HostServicesSection, { services: undefined, upstream: [], now: NOW }));
    expect(empty).toContain('No vnet of yours with DHCP on this host.');
    expect(empty).toContain('none (names outside the farms are answered REFUSED)');
  });

  it('reads the upstream resolvers an admin types, comma- or space-separated; empty is none', () => {
    expect(upstreamOfText(' 192.0.2.53, 198.51.100.53  203.0.113.53;')).toEqual(['192.0.2.53', '198.51.100.53', '203.0.113.53']);
    expect(upstreamOfText('  ')).toEqual([]);
  });
});
