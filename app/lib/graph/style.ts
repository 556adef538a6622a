// Cytoscape styles and renderer settings. Large graphs get the cheap ones:
// haystack edges, labels only when readable, a cached texture while the
// viewport moves, one device pixel per CSS pixel.
import type { CytoscapeOptions, StylesheetJson } from 'cytoscape';

/** Above this many elements a view switches to the cheap settings. */
export const LARGE_GRAPH = 400;

const COLORS = {
  vm: '#2563eb', vnet: '#0f766e', router: '#b45309', firewall: '#b91c1c', host: '#f8fafc', segment: '#eef2f7',
  running: '#16a34a', pending: '#d97706', down: '#dc2626', unplaced: '#94a3b8', undeployed: '#64748b',
  edge: '#94a3b8', selected: '#f59e0b', external: '#7c3aed',
};

export function graphStyle(large: boolean): StylesheetJson {
  return [
    {
      selector: 'node',
      style: {
        label: 'data(label)', 'font-size': 11, 'text-wrap': 'wrap', 'text-valign': 'bottom', 'text-margin-y': 4,
        'min-zoomed-font-size': large ? 9 : 0, width: 34, height: 34, 'background-color': COLORS.vm, color: '#1f2937',
      },
    },
    { selector: 'node.vm', style: { shape: 'round-rectangle', 'background-color': COLORS.vm } },
    { selector: 'node.vnet', style: { shape: 'round-rectangle', width: 110, height: 22, 'background-color': COLORS.vnet } },
    { selector: 'node.router', style: { shape: 'ellipse', 'background-color': COLORS.router } },
    { selector: 'node.firewall', style: { shape: 'hexagon', 'background-color': COLORS.firewall } },
    { selector: 'node.external', style: { shape: 'barrel', width: 130, height: 26, 'background-color': COLORS.external } },
    { selector: 'node.vm.running', style: { 'background-color': COLORS.running } },
    { selector: 'node.vm.pending', style: { 'background-color': COLORS.pending } },
    { selector: 'node.vm.down', style: { 'background-color': COLORS.down } },
    { selector: 'node.vm.unplaced', style: { 'background-color': COLORS.unplaced } },
    { selector: 'node.vm.undeployed', style: { 'background-color': COLORS.undeployed } },
    {
      selector: 'node.segment',
      style: {
        shape: 'round-rectangle', 'background-color': COLORS.segment, 'border-width': 1, 'border-color': '#cbd5e1',
        'text-valign': 'top', 'text-halign': 'center', 'font-weight': 'bold', padding: '18px',
      },
    },
    {
      selector: 'node.host',
      style: {
        shape: 'round-rectangle', 'background-color': COLORS.host, 'border-width': 2, 'border-color': '#475569',
        'text-valign': 'top', 'text-halign': 'center', padding: '14px', 'min-width': '90px', 'min-height': '40px',
      },
    },
    { selector: 'node.host.offline, node.host.revoked', style: { 'border-color': COLORS.down, 'border-style': 'dashed' } },
    { selector: 'node.host.pending', style: { 'border-color': COLORS.unplaced, 'border-style': 'dashed' } },
    { selector: 'node.host.drop-target', style: { 'border-color': COLORS.selected, 'border-width': 4 } },
    {
      selector: 'edge',
      style: large
        ? { 'curve-style': 'haystack', 'haystack-radius': 0, width: 1, 'line-color': COLORS.edge, opacity: 0.8 }
        : {
            'curve-style': 'straight', width: 2, 'line-color': COLORS.edge, label: 'data(label)', 'font-size': 10,
            'text-background-color': '#ffffff', 'text-background-opacity': 0.85, 'text-background-padding': '2px', color: '#334155',
          },
    },
    { selector: 'edge.link', style: { 'line-style': 'dashed', 'line-color': COLORS.router } },
    { selector: 'edge.tunnel', style: { width: 3, 'line-color': '#64748b', 'line-style': 'dashed' } },
    { selector: 'edge.tunnel.observed', style: { 'line-style': 'solid', 'line-color': '#0ea5e9' } },
    { selector: 'node.trace-path', style: { 'border-width': 4, 'border-color': '#16a34a' } },
    { selector: 'edge.trace-path', style: { width: 4, 'line-color': '#16a34a' } },
    { selector: 'node.trace-fail', style: { 'border-width': 5, 'border-color': '#7f1d1d', 'overlay-color': '#dc2626', 'overlay-opacity': 0.3, 'overlay-padding': 10, color: '#b91c1c', 'font-weight': 'bold' } },
    { selector: 'edge.trace-fail', style: { width: 5, 'line-color': '#dc2626' } },
    { selector: ':selected', style: { 'border-width': 3, 'border-color': COLORS.selected, 'line-color': COLORS.selected } },
    { selector: '.ghost', style: { opacity: 0.6, events: 'no', width: 6, height: 6, label: '' } },
    { selector: 'edge.ghost', style: { 'line-style': 'dashed', 'line-color': COLORS.selected, width: 2 } },
    { selector: 'node.connect-source', style: { 'border-width': 4, 'border-color': COLORS.selected } },
  ];
}

/** Renderer settings; `large` trades detail during pan and zoom for frame time. */
export function rendererOptions(large: boolean): Partial<CytoscapeOptions> {
  return {
    layout: { name: 'preset' },
    pixelRatio: 1,
    textureOnViewport: large,
    hideEdgesOnViewport: large,
    hideLabelsOnViewport: large,
    motionBlur: false,
    minZoom: 0.05,
    maxZoom: 4,
    boxSelectionEnabled: false,
    selectionType: 'single',
  };
}
