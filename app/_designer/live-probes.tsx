'use client';
// Ping and traceroute from a deployed router's own IP stack. Submitting a form
// starts the probe (the router.ping / router.traceroute mutation) and follows
// its answers (the router.probe subscription); each event the agent streams
// is appended as one line, the summary ends the run, Stop unsubscribes.
import { skipToken, useMutation } from '@tanstack/react-query';
import { useSubscription } from '@trpc/tanstack-react-query';
import { useId, useState, type FormEvent } from 'react';
import { errorInfo, useTRPC } from '../lib/trpc.ts';
import { PING_DEFAULT_COUNT, PING_MAX_COUNT } from '../../contract/limits.ts';
import { checkProbe, pingLine, traceLine } from './live-format.ts';

export interface ProbeTarget {
  ip: string;
  label: string;
}

export interface ProbeFormProps {
  routerId: string;
  targets: readonly ProbeTarget[];
  /** After the summary: the router's tables have changed (ARP entries, counters). */
  onDone?: () => void;
}

interface Line {
  kind: string;
  text: string;
}

/** One probe run: its target, the probe once started, its log, an error, and whether it still runs; `onDone` after the summary. */
function useProbeRun(onDone?: () => void) {
  const [target, setTarget] = useState<string | null>(null);
  const [probeId, setProbeId] = useState<string | null>(null);
  const [running, setRunning] = useState(false);
  const [lines, setLines] = useState<Line[]>([]);
  const [error, setError] = useState<string | null>(null);
  return {
    target, running, lines, error,
    /** The probe router.probe follows while the run lasts. */
    following: running ? probeId : null,
    begin(next: string) {
      setTarget(next);
      setProbeId(null);
      setLines([]);
      setError(null);
      setRunning(true);
    },
    started(id: string) {
      setProbeId(id);
    },
    append(line: Line, last: boolean) {
      setLines((l) => [...l, line]);
      if (!last) return;
      setRunning(false);
      onDone?.();
    },
    fail(message: string) {
      setError(message);
      setRunning(false);
    },
    stop: () => setRunning(false),
    invalid(message: string) {
      setError(message);
    },
  };
}

function ProbeLog({ label, testId, lines, running, error, stopped }: { label: string; testId: string; lines: Line[]; running: boolean; error: string | null; stopped: boolean }) {
  return (
    <>
      {error ? <p role="alert" className="error" data-testid={`${testId}-error`}>{error}</p> : null}
      {lines.length || running || stopped ? (
        <ol className="probe-log" aria-label={label} aria-live="polite" data-testid={testId}>
          {/* biome-ignore lint/suspicious/noArrayIndexKey: an append-only log; a line never moves */}
          {lines.map((l, i) => <li key={i} data-kind={l.kind}>{l.text}</li>)}
          {running ? <li className="muted" data-kind="waiting">…</li> : null}
          {stopped ? <li className="muted" data-kind="stopped">stopped</li> : null}
        </ol>
      ) : null}
    </>
  );
}

function TargetList({ id, targets }: { id: string; targets: readonly ProbeTarget[] }) {
  return <datalist id={id}>{targets.map((t) => <option key={`${t.ip} ${t.label}`} value={t.ip}>{t.label}</option>)}</datalist>;
}

const submitting = (fn: () => void) => (e: FormEvent) => {
  e.preventDefault();
  fn();
};

export function PingForm({ routerId, targets, onDone }: ProbeFormProps) {
  const trpc = useTRPC();
  const listId = useId();
  const [target, setTarget] = useState('');
  const [count, setCount] = useState(String(PING_DEFAULT_COUNT));
  const [stopped, setStopped] = useState(false);
  const run = useProbeRun(onDone);
  const startPing = useMutation(trpc.router.ping.mutationOptions());
  useSubscription(trpc.router.probe.subscriptionOptions(run.following ? { probeId: run.following } : skipToken, {
    onData: ({ data }) => {
      if (data.kind === 'router.ping') run.append({ kind: data.event.type, text: pingLine(data.event) }, data.event.type === 'summary');
    },
    onError: (err) => run.fail(errorInfo(err).message),
  }));
  const start = () => {
    const c = checkProbe({ target, count });
    if (!c.ok) return run.invalid(c.message);
    setStopped(false);
    run.begin(c.target);
    startPing.mutate({ id: routerId, target: c.target, count: c.count }, {
      onSuccess: (p) => run.started(p.probeId),
      onError: (err) => run.fail(errorInfo(err).message),
    });
  };
  return (
    <form className="probe-form" aria-label="Ping" onSubmit={submitting(start)} data-testid="ping-form">
      <h3>Ping</h3>
      <div className="probe-fields">
        <label className="grow">Target IP
          <input name="target" list={listId} value={target} onChange={(e) => setTarget(e.target.value)} placeholder="10.1.0.10" autoComplete="off" />
        </label>
        <label>Count
          <input name="count" type="number" min={1} max={PING_MAX_COUNT} value={count} onChange={(e) => setCount(e.target.value)} className="count" />
        </label>
        {run.running
          ? <button type="button" className="danger" onClick={() => { setStopped(true); run.stop(); }}>Stop</button>
          : <button type="submit" disabled={!target.trim()}>Ping</button>}
      </div>
      <TargetList id={listId} targets={targets} />
      {run.running && run.target ? <p className="hint" role="status">Pinging {run.target}…</p> : null}
      <ProbeLog label="Ping results" testId="ping-output" lines={run.lines} running={run.running} error={run.error} stopped={stopped} />
    </form>
  );
}

export function TracerouteForm({ routerId, targets, onDone }: ProbeFormProps) {
  const trpc = useTRPC();
  const listId = useId();
  const [target, setTarget] = useState('');
  const [stopped, setStopped] = useState(false);
  const run = useProbeRun(onDone);
  const startTrace = useMutation(trpc.router.traceroute.mutationOptions());
  useSubscription(trpc.router.probe.subscriptionOptions(run.following ? { probeId: run.following } : skipToken, {
    onData: ({ data }) => {
      if (data.kind === 'router.traceroute') run.append({ kind: data.event.type, text: traceLine(data.event, run.target ?? '') }, data.event.type === 'summary');
    },
    onError: (err) => run.fail(errorInfo(err).message),
  }));
  const start = () => {
    const c = checkProbe({ target });
    if (!c.ok) return run.invalid(c.message);
    setStopped(false);
    run.begin(c.target);
    startTrace.mutate({ id: routerId, target: c.target }, {
      onSuccess: (p) => run.started(p.probeId),
      onError: (err) => run.fail(errorInfo(err).message),
    });
  };
  return (
    <form className="probe-form" aria-label="Traceroute" onSubmit={submitting(start)} data-testid="traceroute-form">
      <h3>Traceroute</h3>
      <div className="probe-fields">
        <label className="grow">Target IP
          <input name="target" list={listId} value={target} onChange={(e) => setTarget(e.target.value)} placeholder="10.2.0.10" autoComplete="off" />
        </label>
        {run.running
          ? <button type="button" className="danger" onClick={() => { setStopped(true); run.stop(); }}>Stop</button>
          : <button type="submit" disabled={!target.trim()}>Trace</button>}
      </div>
      <TargetList id={listId} targets={targets} />
      {run.running && run.target ? <p className="hint" role="status">Tracing the route to {run.target}…</p> : null}
      <ProbeLog label="Traceroute hops" testId="traceroute-output" lines={run.lines} running={run.running} error={run.error} stopped={stopped} />
    </form>
  );
}
