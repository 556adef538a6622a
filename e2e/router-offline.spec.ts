// The router manager when the router's host has no running agent: the live
// panel says which host and why, instead of spinning; the rest of the
// designer keeps working.
import { test, expect, type APIRequestContext } from '@playwright/test';
import { clickNode, shot, signIn } from './helpers.ts';

/** One tRPC mutation over plain HTTP with the signed-in page's cookie. */
async function mutate<T>(request: APIRequestContext, path: string, input: unknown): Promise<T> {
  const r = await request.post(`/api/trpc/${path}`, { data: { json: input } });
  const body = (await r.json()) as { result?: { data: { json: T } }; error?: { json: { message: string } } };
  if (!r.ok() || !body.result) throw new Error(`${path}: ${r.status()} ${body.error?.json.message ?? ''}`);
  return body.result.data.json;
}

test('a router on a host without an agent shows why it cannot be inspected', async ({ page }) => {
  await signIn(page);
  const tag = Date.now().toString(36);
  const host = await mutate<{ host: { id: string; name: string } }>(page.request, 'host.create', { name: `dark-${tag}`, address: `127.0.9.${1 + (Date.now() % 250)}` });
  const farm = await mutate<{ id: string; revision: number; name: string }>(page.request, 'farm.create', { name: `dark-${tag}` });
  const vnet = await mutate<{ farmRevision: number; vnet: { id: string } }>(page.request, 'vnet.create', { farmId: farm.id, expectedRevision: farm.revision, name: 'lan', cidr: '10.99.0.0/24' });
  const router = await mutate<{ farmRevision: number }>(page.request, 'router.create', {
    farmId: farm.id, expectedRevision: vnet.farmRevision, name: 'edge', hostId: host.host.id, interfaces: [{ vnetId: vnet.vnet.id, ip: '10.99.0.1' }],
  });
  await mutate(page.request, 'farm.deploy', { id: farm.id, expectedRevision: router.farmRevision, wait: false });

  await page.goto('/farms');
  await page.getByRole('link', { name: farm.name, exact: true }).click();
  await page.waitForFunction(() => window.__softudcDesigner !== undefined);
  await clickNode(page, 'edge');
  const live = page.getByRole('complementary', { name: 'Properties' }).getByTestId('live-router');
  await expect(live.getByRole('alert')).toContainText(`host ${host.host.name} has no agent yet`);
  await shot(page, 'router-agent-offline');
  // The panel asks again on demand and still explains.
  await live.getByRole('button', { name: /Refresh/ }).click();
  await expect(live.getByRole('alert')).toContainText(host.host.name);
});
