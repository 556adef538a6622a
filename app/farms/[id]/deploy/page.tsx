'use client';
import { useParams } from 'next/navigation';
import { DeployPanel } from '../../../_deploy/deploy-panel.tsx';

export default function FarmDeployPage() {
  const { id } = useParams<{ id: string }>();
  return <DeployPanel farmId={id} />;
}
