// A tiny inline SVG plot of recent rates.
import { sparklinePath } from '../lib/graph/rates.ts';

export function Sparkline({ values, width = 120, height = 24, label }: { values: readonly number[]; width?: number; height?: number; label: string }) {
  const d = sparklinePath(values, width, height - 2);
  return (
    <svg className="sparkline" width={width} height={height} viewBox={`0 -1 ${width} ${height}`} role="img" aria-label={label}>
      {d ? <path d={d} fill="none" stroke="currentColor" strokeWidth={1.5} /> : null}
    </svg>
  );
}
