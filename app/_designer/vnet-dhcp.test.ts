import { describe, expect, it } from 'vitest';
import { DHCP_DEFAULTS } from '../../server/farms/vnetDhcp.ts';
import { DHCP_FIELDS, dhcpDraft, dhcpOfDraft, routesOfText, routesText } from './vnet-dhcp.tsx';

describe('the vnet DHCP form', () => {
  it('reads static routes as "destination via gateway", one a line or comma-separated, and shows them back', () => {
    expect(routesOfText('10.20.0.0/16 via 10.1.0.2\n 192.0.2.0/24 10.1.0.3 , \n')).toEqual([
      { destination: '10.20.0.0/16', gateway: '10.1.0.2' },
      { destination: '192.0.2.0/24', gateway: '10.1.0.3' },
    ]);
    // A line without a gateway goes to the API as it is, which names the field.
    expect(routesOfText('10.20.0.0/16')).toEqual([{ destination: '10.20.0.0/16', gateway: '' }]);
    const routes = [{ destination: '10.20.0.0/16', gateway: '10.1.0.2' }];
    expect(routesText(routes)).toBe('10.20.0.0/16 via 10.1.0.2');
    const d = { ...DHCP_DEFAULTS, routes };
    expect(dhcpOfDraft(dhcpDraft(d))).toEqual(d);
  });

  it('shows a route error beside the routes, not as the form\'s general error', () => {
    expect(DHCP_FIELDS).toContain('dhcp.routes.3.destination');
    expect(DHCP_FIELDS).toContain('dhcp.routes.15.gateway');
  });
});
