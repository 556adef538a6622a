'use client';
// The palette: one button per node kind. Drag a button onto the canvas to
// place the node there; press it (mouse or keyboard) to place it in the
// middle of the view. Dragging uses pointer events, not HTML drag and drop,
// so it works the same with a mouse, a pen and a touch screen.
import { useEffect, useRef, useState, type PointerEvent as ReactPointerEvent } from 'react';
import type { FarmNodeKind } from '../lib/graph/elements.ts';

export const PALETTE: { kind: FarmNodeKind; label: string; hint: string }[] = [
  { kind: 'vm', label: 'VM', hint: 'a virtual machine' },
  { kind: 'vnet', label: 'Vnet', hint: 'a virtual network' },
  { kind: 'router', label: 'Router', hint: 'a virtual router' },
  { kind: 'firewall', label: 'Firewall', hint: 'a virtual firewall' },
];

const DRAG_THRESHOLD_PX = 5;

export interface PaletteProps {
  disabled: boolean;
  /** `at` is the drop point in client coordinates, or null for "middle of the view". */
  onAdd: (kind: FarmNodeKind, at: { clientX: number; clientY: number } | null) => void;
}

interface Drag {
  kind: FarmNodeKind;
  startX: number;
  startY: number;
  x: number;
  y: number;
  moved: boolean;
}

export function Palette({ disabled, onAdd }: PaletteProps) {
  const [drag, setDrag] = useState<Drag | null>(null);
  const dragRef = useRef<Drag | null>(null);
  const suppressClick = useRef(false);
  const onAddRef = useRef(onAdd);
  onAddRef.current = onAdd;

  // biome-ignore lint/correctness/useExhaustiveDependencies: listeners are attached once per drag, not on every pointer move
  useEffect(() => {
    if (!drag) return;
    const move = (e: PointerEvent) => {
      const d = dragRef.current;
      if (!d) return;
      const moved = d.moved || Math.hypot(e.clientX - d.startX, e.clientY - d.startY) > DRAG_THRESHOLD_PX;
      dragRef.current = { ...d, x: e.clientX, y: e.clientY, moved };
      setDrag(dragRef.current);
    };
    const up = (e: PointerEvent) => {
      const d = dragRef.current;
      dragRef.current = null;
      setDrag(null);
      if (d?.moved) {
        suppressClick.current = true;
        // Released outside the canvas: nothing is placed.
        const over = document.elementFromPoint(e.clientX, e.clientY);
        if (over?.closest('[data-drop-target="designer"]')) onAddRef.current(d.kind, { clientX: e.clientX, clientY: e.clientY });
      }
    };
    const cancel = () => {
      dragRef.current = null;
      setDrag(null);
    };
    window.addEventListener('pointermove', move);
    window.addEventListener('pointerup', up);
    window.addEventListener('pointercancel', cancel);
    return () => {
      window.removeEventListener('pointermove', move);
      window.removeEventListener('pointerup', up);
      window.removeEventListener('pointercancel', cancel);
    };
  }, [drag !== null]);

  const start = (kind: FarmNodeKind) => (e: ReactPointerEvent) => {
    if (disabled || e.button !== 0) return;
    e.preventDefault(); // no text selection while dragging
    suppressClick.current = false;
    dragRef.current = { kind, startX: e.clientX, startY: e.clientY, x: e.clientX, y: e.clientY, moved: false };
    setDrag(dragRef.current);
  };

  return (
    <div className="palette" role="toolbar" aria-label="Palette" aria-orientation="vertical">
      {PALETTE.map((p) => (
        <button
          key={p.kind}
          type="button"
          className={`palette-item ${p.kind}`}
          disabled={disabled}
          title={`Drag onto the canvas, or press to add ${p.hint}`}
          aria-label={`Add ${p.label}`}
          data-testid={`palette-${p.kind}`}
          onPointerDown={start(p.kind)}
          onClick={() => {
            if (suppressClick.current) {
              suppressClick.current = false;
              return;
            }
            onAdd(p.kind, null);
          }}
        >
          <span className={`swatch ${p.kind}`} aria-hidden="true" />
          {p.label}
        </button>
      ))}
      {drag?.moved ? (
        <div className={`palette-ghost ${drag.kind}`} style={{ left: drag.x, top: drag.y }} aria-hidden="true">
          {PALETTE.find((p) => p.kind === drag.kind)?.label}
        </div>
      ) : null}
    </div>
  );
}
