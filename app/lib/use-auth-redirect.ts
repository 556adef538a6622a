'use client';
import { useEffect } from 'react';
import { useRouter } from 'next/navigation';
import { errorInfo } from './trpc.ts';

/** Sends the browser to the sign-in page when a query says the session is gone. */
export function useAuthRedirect(...errors: unknown[]) {
  const router = useRouter();
  const unauthorized = errors.some((e) => e && errorInfo(e).code === 'UNAUTHORIZED');
  useEffect(() => {
    if (unauthorized) router.push('/login');
  }, [unauthorized, router]);
}
