'use client';
// Every farm page (designer, deploy) shares this header: name, revisions, tabs.
import Link from 'next/link';
import { useParams, usePathname } from 'next/navigation';
import { useQuery } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { useTRPC } from '../../lib/trpc.ts';

export default function FarmLayout({ children }: { children: ReactNode }) {
  const { id } = useParams<{ id: string }>();
  const pathname = usePathname();
  const trpc = useTRPC();
  const farm = useQuery({ ...trpc.farm.get.queryOptions({ id }), refetchOnWindowFocus: false });
  const tabs = [
    { href: `/farms/${id}`, label: 'Design' },
    { href: `/farms/${id}/deploy`, label: 'Deploy' },
    { href: `/topology?farm=${id}`, label: 'Live view' },
  ];
  return (
    <div className="farm-page">
      <header className="farm-header">
        <h1>{farm.data ? `Farm ${farm.data.name}` : 'Farm'}</h1>
        {farm.data ? (
          <span className="farm-meta">
            revision {farm.data.revision} · {farm.data.deployedRevision === null ? 'not deployed' : `deployed revision ${farm.data.deployedRevision}`}
          </span>
        ) : null}
        <nav aria-label="Farm" className="tabs">
          {tabs.map((t) => (
            <Link key={t.href} href={t.href} aria-current={pathname === t.href.split('?')[0] && !t.href.includes('?') ? 'page' : undefined}>{t.label}</Link>
          ))}
        </nav>
      </header>
      {children}
    </div>
  );
}
