'use client';
import { useParams } from 'next/navigation';
import { HostDetail } from '../../_live/host-detail.tsx';

export default function HostPage() {
  const { id } = useParams<{ id: string }>();
  return <HostDetail hostId={id} />;
}
