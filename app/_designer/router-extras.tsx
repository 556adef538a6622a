'use client';
// A router's interfaces, links and static routes inside its properties form;
// routes are added and removed as undoable commands.
import { useState } from 'react';
import type { FarmDetail } from '../lib/graph/elements.ts';
import { addStaticRouteCommand, removeStaticRouteCommand } from './farm-commands.ts';
import type { FormCtx, PropertiesProps } from './properties.tsx';

export function RouterExtras(p: PropertiesProps & { router: FarmDetail['routers'][number]; ctx: FormCtx }) {
  const r = p.router;
  const [dest, setDest] = useState('');
  const [hop, setHop] = useState('');
  const vnetName = (id: string) => p.farm.vnets.find((v) => v.id === id)?.name ?? '?';
  const routerName = (id: string) => p.farm.routers.find((x) => x.id === id)?.name ?? '?';
  const links = p.farm.routerLinks.filter((l) => l.routerAId === r.id || l.routerBId === r.id);
  const add = async () => {
    if (await p.onRun(addStaticRouteCommand(p.ops, r.id, { destination: dest, nextHop: hop }))) {
      setDest('');
      setHop('');
    }
  };
  return (
    <>
      <h3>Interfaces</h3>
      {r.interfaces.length === 0 ? <p className="hint">None yet: connect the router to a vnet.</p> : (
        <ul className="plain">
          {r.interfaces.map((i) => (
            <li key={i.id}><button type="button" className="link" onClick={() => p.onSelect(i.id)}>{vnetName(i.vnetId)} · {i.ip}/{i.prefixLen}{i.rip ? ' · RIP' : ''}</button></li>
          ))}
        </ul>
      )}
      {links.length ? (
        <>
          <h3>Links</h3>
          <ul className="plain">
            {links.map((l) => (
              <li key={l.id}><button type="button" className="link" onClick={() => p.onSelect(l.id)}>to {routerName(l.routerAId === r.id ? l.routerBId : l.routerAId)} · {l.cidr}</button></li>
            ))}
          </ul>
        </>
      ) : null}
      <h3>Static routes</h3>
      <ul className="plain">
        {r.staticRoutes.map((s) => (
          <li key={s.id}>
            {s.destination} via {s.nextHop} (metric {s.metric}){' '}
            <button type="button" className="link" disabled={p.ctx.readOnly} aria-label={`Remove route ${s.destination}`} onClick={() => void p.onRun(removeStaticRouteCommand(p.ops, s))}>remove</button>
          </li>
        ))}
      </ul>
      {/* biome-ignore lint/a11y/useSemanticElements: a row of controls styled as one line; a fieldset would bring its own border and legend */}
      <div className="route-add" role="group" aria-label="Add static route">
        <label>Destination<input name="destination" value={dest} placeholder="10.50.0.0/16" onChange={(e) => setDest(e.target.value)} disabled={p.ctx.readOnly}
          aria-invalid={p.ctx.err('destination') ? true : undefined} /></label>
        <label>Next hop<input name="nextHop" value={hop} placeholder="10.1.0.254" onChange={(e) => setHop(e.target.value)} disabled={p.ctx.readOnly}
          aria-invalid={p.ctx.err('nextHop') ? true : undefined} /></label>
        <button type="button" onClick={() => void add()} disabled={p.ctx.readOnly || !dest || !hop}>Add route</button>
        {p.ctx.err('destination') ?? p.ctx.err('nextHop') ?? p.ctx.err('metric') ? (
          <p className="field-error" role="alert">{p.ctx.err('destination') ?? p.ctx.err('nextHop') ?? p.ctx.err('metric')}</p>
        ) : null}
      </div>
    </>
  );
}
