'use client';
// One cytoscape instance per mounted canvas: created once, destroyed on
// unmount. New element lists are diffed against the previous one and applied
// in a single batch, so updates never rebuild the graph or reset the view.
import cytoscape, { type Core } from 'cytoscape';
import { useEffect, useRef } from 'react';
import { applyDiff } from '../lib/graph/apply.ts';
import { diffElements, type DiffOptions } from '../lib/graph/diff.ts';
import type { El } from '../lib/graph/elements.ts';
import { graphStyle, LARGE_GRAPH, rendererOptions } from '../lib/graph/style.ts';

export interface GraphCanvasProps {
  elements: readonly El[];
  /** Accessible name of the drawing. */
  label: string;
  positions?: DiffOptions['positions'];
  /** Attach handlers; the returned function detaches them. Called once, right after creation. */
  // biome-ignore lint/suspicious/noConfusingVoidType: like a React effect, a handler may return nothing or its cleanup
  onReady?: (cy: Core) => void | (() => void);
  /**
   * `once`: fit the view to the graph the first time it has elements;
   * `until-touched` (default): fit again whenever elements are added, until the
   * user pans, zooms or drags (data arriving in pieces stays in view).
   */
  fit?: 'once' | 'until-touched' | false;
  className?: string;
  testId?: string;
}

export function GraphCanvas({ elements, label, positions = 'keep', onReady, fit = 'until-touched', className, testId }: GraphCanvasProps) {
  const container = useRef<HTMLDivElement>(null);
  const cyRef = useRef<Core | null>(null);
  const shown = useRef<readonly El[]>([]);
  const fitted = useRef(false);
  const touched = useRef(false);
  const large = useRef(elements.length > LARGE_GRAPH);
  const readyRef = useRef(onReady);
  readyRef.current = onReady;

  useEffect(() => {
    const cy = cytoscape({
      container: container.current,
      style: graphStyle(large.current),
      ...rendererOptions(large.current),
    });
    cyRef.current = cy;
    shown.current = [];
    fitted.current = false;
    touched.current = false;
    // Any pointer or wheel use of the canvas means the user now owns the viewport.
    // Each gesture also re-reads where the canvas is on the page: cytoscape
    // caches that and refreshes it on resize and scroll only, so content that
    // appears above the canvas (a banner, an error line) would offset clicks.
    const el = container.current;
    const renderer = (cy as unknown as { renderer(): { invalidateContainerClientCoordsCache?: () => void } }).renderer();
    const touch = () => {
      touched.current = true;
      renderer.invalidateContainerClientCoordsCache?.();
    };
    el?.addEventListener('pointerdown', touch, true);
    el?.addEventListener('mousedown', touch, true);
    el?.addEventListener('wheel', touch, { capture: true, passive: true });
    const detach = readyRef.current?.(cy);
    return () => {
      el?.removeEventListener('pointerdown', touch, true);
      el?.removeEventListener('mousedown', touch, true);
      el?.removeEventListener('wheel', touch, true);
      if (typeof detach === 'function') detach();
      cy.destroy();
      cyRef.current = null;
    };
  }, []);

  useEffect(() => {
    const cy = cyRef.current;
    if (!cy) return;
    const nowLarge = elements.length > LARGE_GRAPH;
    if (nowLarge !== large.current) {
      // Crossing the threshold swaps styles and renderer hints in place.
      large.current = nowLarge;
      cy.style(graphStyle(nowLarge));
      const r = (cy as unknown as { renderer(): unknown }).renderer() as { textureOnViewport?: boolean; hideEdgesOnViewport?: boolean; hideLabelsOnViewport?: boolean };
      r.textureOnViewport = nowLarge;
      r.hideEdgesOnViewport = nowLarge;
      r.hideLabelsOnViewport = nowLarge;
    }
    const diff = diffElements(shown.current, elements, { positions });
    applyDiff(cy, diff);
    shown.current = elements;
    const refit = fit === 'until-touched' && !touched.current && diff.addNodes.length > 0;
    if (fit && elements.length > 0 && (!fitted.current || refit)) {
      fitted.current = true;
      cy.fit(undefined, 40);
      if (cy.zoom() > 1.4) {
        cy.zoom(1.4);
        cy.center();
      }
    }
  }, [elements, positions, fit]);

  return <div ref={container} className={className ?? 'graph-canvas'} role="img" aria-label={label} data-testid={testId} />;
}
