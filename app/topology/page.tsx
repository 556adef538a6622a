'use client';
import { Suspense } from 'react';
import { Topology } from '../_live/topology.tsx';

export default function TopologyPage() {
  return (
    <Suspense fallback={<p>Loading…</p>}>
      <Topology />
    </Suspense>
  );
}
