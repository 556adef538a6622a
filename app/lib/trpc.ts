'use client';
import { createTRPCContext } from '@trpc/tanstack-react-query';
import { createTRPCClient, httpBatchLink, httpSubscriptionLink, splitLink, type TRPCClient } from '@trpc/client';
import superjson from 'superjson';
import type { AppRouter } from '../../server/routers/_app.ts';
import { MAX_BATCH_CALLS } from '../../server/limits.ts';

export const { TRPCProvider, useTRPC, useTRPCClient } = createTRPCContext<AppRouter>();
export type ApiClient = TRPCClient<AppRouter>;

export function makeTrpcClient() {
  return createTRPCClient<AppRouter>({
    links: [
      splitLink({
        condition: (op) => op.type === 'subscription',
        true: httpSubscriptionLink({ url: '/api/trpc', transformer: superjson }),
        // The API refuses bigger batches; the link splits them.
        false: httpBatchLink({ url: '/api/trpc', transformer: superjson, maxItems: MAX_BATCH_CALLS }),
      }),
    ],
  });
}

export interface ErrorInfo {
  code: string | null;
  /** The input path the API blames (`ip`, `rules.2.portFrom`), if any. */
  field: string | null;
  message: string;
}

/**
 * Reads the tRPC error's code, offending field and a readable message, for
 * messages at the field. Schema errors carry their issues; the first one
 * becomes the message ("ip: Invalid input") instead of the raw issue JSON.
 */
export function errorInfo(err: unknown): ErrorInfo {
  const e = err as {
    message?: string;
    data?: { code?: string; field?: string | null; issues?: { path: string; message: string }[] | null };
  } | null;
  const issue = e?.data?.issues?.[0];
  const message = issue ? (issue.path ? `${issue.path}: ${issue.message}` : issue.message) : (e?.message ?? String(err));
  return { code: e?.data?.code ?? null, field: e?.data?.field ?? null, message };
}

/** Someone else changed the farm since this page last read it. */
export const isStaleRevision = (err: unknown) => {
  const i = errorInfo(err);
  return i.code === 'CONFLICT' && i.field === 'expectedRevision';
};
