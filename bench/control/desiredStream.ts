// The agent.desired stream as the simulated agents of bench:control hold it:
// a raw SSE request (what tRPC's httpSubscriptionLink opens) with a host
// credential, split into events.
import http from 'node:http';

export interface StreamHandlers {
  /** A state: the event's `data:` lines joined. */
  data(data: string): void;
  ping?(): void;
  /** The stream failed (HTTP status, a serialized error, a network error). */
  error(err: Error): void;
  close(): void;
}

/** Opens the stream (superjson input {}: no lastGeneration, so the first value is the state). */
export function openDesiredStream(url: string, credential: string, on: StreamHandlers): http.ClientRequest {
  const u = `${url}/agent.desired?input=${encodeURIComponent(JSON.stringify({ json: {} }))}`;
  const req = http.get(u, { agent: false, headers: { authorization: `Bearer ${credential}`, accept: 'text/event-stream' } }, (res) => {
    if (res.statusCode !== 200) {
      on.error(new Error(`agent.desired: HTTP ${res.statusCode}`));
      res.resume();
      return;
    }
    readSseEvents(res, (ev) => {
      if (/^event: ping/m.test(ev)) on.ping?.();
      else if (/^event: serialized-error/m.test(ev)) on.error(new Error(`agent.desired failed: ${ev.slice(0, 300)}`));
      else if (/^data: /m.test(ev) && !/^event: /m.test(ev)) {
        on.data(ev.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n'));
      }
    });
    res.on('close', () => on.close());
  });
  req.on('error', (e) => on.error(e));
  return req;
}

/** Calls `onEvent` with each SSE event of a response as it comes: its lines, without the blank lines that end it. */
export function readSseEvents(res: http.IncomingMessage, onEvent: (event: string) => void): void {
  let buf = '';
  res.setEncoding('utf8');
  res.on('data', (chunk: string) => {
    buf += chunk;
    let i: number;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const ev = buf.slice(0, i);
      buf = buf.slice(i + 2).replace(/^\n+/, '');
      if (ev !== '') onEvent(ev);
    }
  });
}
