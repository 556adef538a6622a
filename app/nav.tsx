'use client';
import Link from 'next/link';
import { usePathname, useRouter } from 'next/navigation';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useTRPC } from './lib/trpc.ts';

const LINKS = [
  { href: '/farms', label: 'Farms' },
  { href: '/topology', label: 'Topology' },
  { href: '/hosts', label: 'Hosts' },
  { href: '/audit', label: 'Audit' },
];

export function Nav() {
  const trpc = useTRPC();
  const pathname = usePathname();
  const router = useRouter();
  const qc = useQueryClient();
  const me = useQuery({ ...trpc.auth.me.queryOptions(), enabled: pathname !== '/login' });
  const logout = useMutation(
    trpc.auth.logout.mutationOptions({
      onSuccess: () => {
        qc.clear();
        router.push('/login');
      },
    }),
  );
  return (
    <header className="topbar">
      <Link href="/farms" className="brand">SoftUDC</Link>
      <nav aria-label="Main">
        {LINKS.map((l) => (
          <Link key={l.href} href={l.href} aria-current={pathname.startsWith(l.href) ? 'page' : undefined}>
            {l.label}
          </Link>
        ))}
      </nav>
      <div className="who">
        {me.data ? (
          <>
            <span>{me.data.username} ({me.data.role})</span>
            <button type="button" onClick={() => logout.mutate()}>Sign out</button>
          </>
        ) : null}
      </div>
    </header>
  );
}
