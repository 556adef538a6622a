'use client';
// Admins set a host's upstream DNS resolvers here (host.update dnsUpstream):
// the vnet resolvers on the host forward names outside the farms to them;
// none: such names are answered REFUSED. The API checks every address and
// names the bad one (`dnsUpstream.<i>`).
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Field } from '../_components/field.tsx';
import { errorInfo, useTRPC } from '../lib/trpc.ts';

/** The addresses typed in the field: separated by commas or spaces. */
export function upstreamOfText(text: string): string[] {
  return text.split(/[\s,;]+/).filter(Boolean);
}

export function HostUpstreamForm({ hostId, current }: { hostId: string; current: readonly string[] }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const [text, setText] = useState<string | null>(null);
  const save = useMutation(trpc.host.update.mutationOptions({
    onSuccess: () => {
      setText(null);
      return qc.invalidateQueries({ queryKey: trpc.host.get.queryKey({ id: hostId }) });
    },
  }));
  const err = save.error ? errorInfo(save.error) : null;
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate({ id: hostId, dnsUpstream: upstreamOfText(text ?? current.join(', ')) });
  };
  return (
    <form className="inline" aria-label="Upstream DNS resolvers" onSubmit={onSubmit}>
      <Field label="Upstream DNS resolvers" error={err && err.field?.startsWith('dnsUpstream') ? err.message : null} hint="e.g. 192.0.2.53, 198.51.100.53; empty: none">
        <input name="dnsUpstream" value={text ?? current.join(', ')} onChange={(e) => setText(e.target.value)} />
      </Field>
      <button type="submit" className="secondary" disabled={save.isPending || text === null}>Save</button>
      {err && !err.field?.startsWith('dnsUpstream') ? <p role="alert" className="error">{err.message}</p> : null}
    </form>
  );
}
