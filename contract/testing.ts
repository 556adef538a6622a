// Documents for tests on both sides of the contract.

/** Exactly the minimal state of ARCHITECTURE.md "Contracts" (and docs/agent-state.md): always accepted as written. */
export const MINIMAL_STATE = {
  host: 'h1',
  generation: 1,
  underlay: { address: '127.0.0.2', port: 1798, multicast: null, peers: ['127.0.0.3'] },
  vnets: [{ id: 7, security: 'none' }],
  vifs: [{ id: 'web-1/eth0', vnet: 7, mac: '02:5d:00:00:00:0a', ip: '10.7.0.10/24', version: 1, guest: { kind: 'emulated' } }],
};
