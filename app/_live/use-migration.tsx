'use client';
// Migrating a VM from the live views: a confirmation naming the VM and both
// hosts, then vm.migrate, then the migration's progress until every affected
// host applied it.
import { skipToken, useQuery, useQueryClient } from '@tanstack/react-query';
import { useSubscription } from '@trpc/tanstack-react-query';
import { useRef, useState, type ReactNode } from 'react';
import { ConfirmDialog } from '../_components/confirm-dialog.tsx';
import type { Progress } from '../_deploy/deploy-panel.tsx';
import type { FarmDetail } from '../lib/graph/elements.ts';
import type { HostLite } from '../lib/graph/live.ts';
import { errorInfo, isStaleRevision, useTRPC, useTRPCClient } from '../lib/trpc.ts';

interface Pending {
  vmId: string;
  vmName: string;
  farm: FarmDetail;
  from: string;
  to: HostLite;
}

export interface Migration {
  allowed: boolean;
  request(vmId: string, toHostId: string, onCancel?: () => void): void;
  dialog: ReactNode;
  banner: ReactNode;
}

export function useMigration(farms: readonly FarmDetail[], hosts: readonly HostLite[]): Migration {
  const trpc = useTRPC();
  const client = useTRPCClient();
  const qc = useQueryClient();
  const me = useQuery(trpc.auth.me.queryOptions());
  const [pending, setPending] = useState<Pending | null>(null);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ text: string; error: boolean } | null>(null);
  const [deploymentId, setDeploymentId] = useState<string | null>(null);
  const [progress, setProgress] = useState<Progress | null>(null);
  const [moved, setMoved] = useState<{ vm: string; host: string } | null>(null);
  const cancelRef = useRef<(() => void) | undefined>(undefined);

  const refresh = () => qc.invalidateQueries({ queryKey: trpc.farm.get.pathKey() });
  useSubscription(
    trpc.farm.deployProgress.subscriptionOptions(deploymentId ? { id: deploymentId } : skipToken, {
      onData: (p) => {
        setProgress(p);
        if (p.complete) void refresh();
      },
    }),
  );

  const request = (vmId: string, toHostId: string, onCancel?: () => void) => {
    const farm = farms.find((f) => f.vms.some((v) => v.id === vmId));
    const vm = farm?.vms.find((v) => v.id === vmId);
    const to = hosts.find((h) => h.id === toHostId);
    if (!farm || !vm || !to || vm.hostId === toHostId) {
      onCancel?.();
      return;
    }
    cancelRef.current = onCancel;
    setPending({ vmId, vmName: vm.name, farm, from: vm.hostName ?? 'no host', to });
  };

  const confirm = async () => {
    const p = pending;
    if (!p) return;
    setBusy(true);
    try {
      const r = await client.vm.migrate.mutate({ id: p.vmId, hostId: p.to.id, expectedRevision: p.farm.revision, wait: false });
      setMoved({ vm: p.vmName, host: p.to.name });
      setMessage(null);
      setProgress(r.progress);
      setDeploymentId(r.deployment?.id ?? null);
      if (r.warnings.length) setMessage({ text: r.warnings.join(' '), error: false });
    } catch (e) {
      cancelRef.current?.();
      setMessage({
        text: isStaleRevision(e) ? `Farm ${p.farm.name} changed meanwhile; the views now show its current state. Try the move again.` : errorInfo(e).message,
        error: true,
      });
    } finally {
      setBusy(false);
      setPending(null);
      cancelRef.current = undefined;
      await refresh();
    }
  };

  const cancel = () => {
    cancelRef.current?.();
    cancelRef.current = undefined;
    setPending(null);
  };

  const banner = (
    <>
      {message ? <p role="alert" className={message.error ? 'error' : 'hint'}>{message.text}</p> : null}
      {moved ? (
        <p role="status" className="migration-status" data-testid="migration-status">
          VM {moved.vm} moved to {moved.host}
          {progress ? (progress.total === 0 ? ' (farm not deployed: placement only)' : ` — applied on ${progress.applied} of ${progress.total} hosts${progress.complete ? '' : '…'}`) : ''}
        </p>
      ) : null}
    </>
  );
  const dialog = (
    <ConfirmDialog open={pending !== null} busy={busy} title={pending ? `Move VM ${pending.vmName} to ${pending.to.name}?` : ''} confirmLabel="Migrate"
      onConfirm={() => void confirm()} onCancel={cancel}>
      {pending ? (
        <p>
          VM <strong>{pending.vmName}</strong> of farm {pending.farm.name} moves from <strong>{pending.from}</strong> to <strong>{pending.to.name}</strong> ({pending.to.address}).
          {pending.farm.deployedRevision === null ? ' The farm is not deployed, so only its placement changes.' : ' Its VIFs come up on the new host and leave the old one.'}
        </p>
      ) : null}
    </ConfirmDialog>
  );
  return { allowed: !!me.data && me.data.role !== 'viewer', request, dialog, banner };
}
