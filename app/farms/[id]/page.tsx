'use client';
import { useParams } from 'next/navigation';
import { Designer } from '../../_designer/designer.tsx';

export default function FarmDesignerPage() {
  const { id } = useParams<{ id: string }>();
  return <Designer farmId={id} />;
}
