// The CLI's commands over the API (cli/main.ts dispatches to them). Every
// read takes --json and then prints the API's answer as JSON.
import { writeFile } from 'node:fs/promises';
import { allowOnly, intOption, parseDuration, stringOption, type Args } from './args.ts';
import { allPages, findFarm, pageOf, type Api } from './api.ts';
import { deployFarm, reportDeploy } from './deploy.ts';
import { readDocumentFile } from './document.ts';
import { CliError, EXIT } from './errors.ts';
import { formatChange, formatPlan, table } from './output.ts';

const print = (text: string): void => {
  process.stdout.write(`${text}\n`);
};
const printJson = (v: unknown): void => print(JSON.stringify(v, null, 2));
const json = (a: Args) => a.options.get('json') === true;
const when = (d: Date | null) => (d ? d.toISOString().replace(/\.\d+Z$/, 'Z') : '-');

function one(a: Args, what: string): string {
  const [w, ...rest] = a.words;
  if (!w) throw new CliError(EXIT.usage, `missing ${what}`);
  if (rest.length) throw new CliError(EXIT.usage, `unexpected argument "${rest[0]}"`);
  return w;
}

async function requireFarm(api: Api, ref: string) {
  const farm = await findFarm(api, ref);
  if (!farm) throw new CliError(EXIT.notFound, `no farm named or with id "${ref}"`);
  return farm;
}

export async function farmList(api: Api, a: Args): Promise<void> {
  allowOnly(a, ['json']);
  const items = await allPages((c) => api.farm.list.query(pageOf(c)));
  if (json(a)) return printJson(items);
  print(
    table(
      ['NAME', 'REVISION', 'DEPLOYED', 'VNETS', 'VMS', 'ROUTERS', 'FIREWALLS', 'UPDATED'],
      items.map((f) => [
        f.name, String(f.revision), f.deployedRevision === null ? '-' : String(f.deployedRevision),
        String(f.counts.vnets), String(f.counts.vms), String(f.counts.routers), String(f.counts.firewalls), when(f.updatedAt),
      ]),
    ),
  );
}

export async function farmGet(api: Api, a: Args): Promise<void> {
  allowOnly(a, ['json']);
  const farm = await api.farm.get.query({ id: (await requireFarm(api, one(a, 'FARM (name or id)'))).id });
  if (json(a)) return printJson(farm);
  const deployed = farm.deployedRevision === null ? 'not deployed' : `deployed revision ${farm.deployedRevision}`;
  print(`farm ${farm.name} (${farm.id}): revision ${farm.revision}, ${deployed}`);
  if (farm.description) print(`  ${farm.description}`);
  print('vnets:');
  for (const v of farm.vnets) print(`  ${v.name}  vnid ${v.vnid}  ${v.cidr}  security ${v.security}`);
  print('vms:');
  for (const vm of farm.vms) {
    const vifs = vm.vifs.map((f) => `${f.name} ${f.ip} ${f.mac}`).join(', ');
    print(`  ${vm.name}  on ${vm.hostName ?? '(unplaced)'}  ${vm.guestKind}  ${vifs}`);
  }
  if (farm.routers.length) print('routers:');
  for (const r of farm.routers) print(`  ${r.name}  on ${r.hostName ?? '(unplaced)'}  ${r.interfaces.map((i) => `${i.ip}/${i.prefixLen}`).join(', ')}`);
  if (farm.firewalls.length) print('firewalls:');
  for (const f of farm.firewalls) print(`  ${f.name}  on ${f.hostName ?? '(unplaced)'}  ${f.rules.length} rules, default ${f.defaultPolicy}`);
}

export async function farmExport(api: Api, a: Args): Promise<void> {
  allowOnly(a, ['json', 'output']);
  const doc = await api.farm.export.query({ id: (await requireFarm(api, one(a, 'FARM (name or id)'))).id });
  const text = `${JSON.stringify(doc, null, 2)}\n`;
  const out = stringOption(a, 'output');
  if (out) await writeFile(out, text);
  else process.stdout.write(text);
}

export async function farmImport(api: Api, a: Args): Promise<void> {
  allowOnly(a, ['json', 'name']);
  const document = (await readDocumentFile(one(a, 'FILE'))) as Parameters<Api['farm']['import']['mutate']>[0]['document'];
  const name = stringOption(a, 'name');
  const farm = await api.farm.import.mutate({ document, ...(name ? { name } : {}) });
  if (json(a)) return printJson(farm);
  print(`imported farm ${farm.name} (${farm.id}) at revision ${farm.revision}`);
}

export async function hosts(api: Api, a: Args): Promise<void> {
  allowOnly(a, ['json']);
  const items = await allPages((c) => api.host.list.query(pageOf(c)));
  if (json(a)) return printJson(items);
  print(
    table(
      ['NAME', 'ADDRESS', 'SEGMENT', 'STATUS', 'APPLIED', 'DESIRED', 'LAST SEEN', 'ID'],
      items.map((h) => [
        h.name, `${h.address}:${h.port}`, h.segmentName ?? '-', h.status, String(h.appliedGeneration), String(h.desiredGeneration),
        when(h.lastSeenAt), h.id,
      ]),
    ),
  );
}

type DocumentInput = Parameters<Api['farm']['planDocument']['mutate']>[0]['document'];

export async function plan(api: Api, a: Args): Promise<void> {
  allowOnly(a, ['json']);
  const document = (await readDocumentFile(one(a, 'FILE'))) as DocumentInput;
  const p = await api.farm.planDocument.mutate({ document });
  if (json(a)) return printJson(p);
  print(formatPlan(p));
}

/** `--wait` alone: a minute; `--wait=2m`: that long. */
function waitOption(a: Args): { wait: boolean; timeoutMs: number } {
  const v = a.options.get('wait');
  const timeout = stringOption(a, 'timeout');
  if (v === undefined) {
    if (timeout !== undefined) throw new CliError(EXIT.usage, '--timeout needs --wait');
    return { wait: false, timeoutMs: 0 };
  }
  return { wait: true, timeoutMs: parseDuration(v === true ? (timeout ?? '60s') : v, 'wait') };
}

export async function apply(api: Api, a: Args): Promise<void> {
  allowOnly(a, ['json', 'deploy', 'wait', 'timeout', 'expected-revision']);
  const file = one(a, 'FILE');
  const wait = waitOption(a);
  const deploy = a.options.get('deploy') === true;
  if (wait.wait && !deploy) throw new CliError(EXIT.usage, '--wait needs --deploy (apply changes the model; a deploy brings it to the hosts)');
  const document = (await readDocumentFile(file)) as DocumentInput;
  // What was planned is what is applied: the revision seen here is the one the apply expects.
  const given = intOption(a, 'expected-revision');
  const expectedRevision = given ?? (await api.farm.planDocument.mutate({ document })).revision;
  const r = await api.farm.applyDocument.mutate({ document, expectedRevision });
  if (json(a) && !deploy) return printJson(r);
  const log = json(a) ? (t: string) => void process.stderr.write(`${t}\n`) : print;
  if (r.created) log(`farm ${r.name}: created at revision ${r.revision} (${r.changes.length - 1} items)`);
  else if (!r.changed) log(`farm ${r.name}: no changes; already at what ${file} says (revision ${r.revision})`);
  else {
    log(`farm ${r.name}: ${r.changes.length} change${r.changes.length === 1 ? '' : 's'} applied, now at revision ${r.revision}`);
    for (const c of r.changes) for (const line of formatChange(c)) log(line);
  }
  if (!deploy) return;
  const o = { ...wait, json: json(a), expectedRevision: r.revision };
  reportDeploy(await deployFarm(api, { id: r.farmId, name: r.name }, o), o);
}

export async function deploy(api: Api, a: Args): Promise<void> {
  allowOnly(a, ['json', 'wait', 'timeout', 'expected-revision']);
  const farm = await requireFarm(api, one(a, 'FARM (name or id)'));
  const o = { ...waitOption(a), json: json(a), expectedRevision: intOption(a, 'expected-revision') };
  reportDeploy(await deployFarm(api, farm, o), o);
}
