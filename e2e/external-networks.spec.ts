// External networks: an admin defines one on the hosts page and binds it on
// a host; in the designer a router connects to it and its leg gets a port
// forward. Bad input shows at the field it names.
import { test, expect } from '@playwright/test';
import { clickNode, designerEdges, designerNodes, drawEdge, dropFromPalette, settled, shot, signIn } from './helpers.ts';

test('an admin defines and binds an external network; a router gets a leg with a port forward', async ({ page }) => {
  test.setTimeout(240_000);
  await signIn(page);
  const net = `up-${Date.now().toString(36)}`;

  await test.step('defines the network on the hosts page, a bad gateway refused at its field', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Hosts' }).click();
    const form = page.getByRole('form', { name: 'Add external network' });
    await form.getByLabel('LAN segment').selectOption({ index: 1 });
    await form.getByLabel('Name').fill(net);
    await form.getByLabel('Subnet').fill('198.51.100.0/24');
    await form.getByLabel('Gateway').fill('198.51.100.15');
    await form.getByLabel('Pool from').fill('198.51.100.10');
    await form.getByLabel('Pool to').fill('198.51.100.20');
    await form.getByRole('button', { name: 'Add network' }).click();
    await expect(form.getByLabel('Gateway')).toHaveAttribute('aria-invalid', 'true');
    await form.getByLabel('Gateway').fill('198.51.100.1');
    await form.getByRole('button', { name: 'Add network' }).click();
    const row = page.getByRole('table', { name: 'External networks' }).getByRole('row').filter({ hasText: net });
    await expect(row).toContainText('198.51.100.10–198.51.100.20');
    await expect(row).toContainText('no host');
  });

  await test.step('binds it on local-2', async () => {
    const form = page.getByRole('form', { name: 'Bind external network' });
    await form.getByLabel('Network').selectOption((await form.getByLabel('Network').locator('option', { hasText: net }).getAttribute('value'))!);
    await form.getByLabel('Host', { exact: true }).selectOption({ label: 'local-2' });
    await form.getByLabel('Host interface').fill('eth 0');
    await form.getByRole('button', { name: 'Bind' }).click();
    await expect(form.getByLabel('Host interface')).toHaveAttribute('aria-invalid', 'true');
    await form.getByLabel('Host interface').fill('lo');
    await form.getByRole('button', { name: 'Bind' }).click();
    await expect(page.getByRole('table', { name: 'External networks' }).getByRole('row').filter({ hasText: net })).toContainText('local-2: lo');
    await shot(page, 'external-networks');
  });

  const farm = `ext-${Date.now().toString(36)}`;
  await test.step('draws a VM and a router on a vnet', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Farms' }).click();
    await page.getByLabel('New farm').fill(farm);
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('link', { name: farm, exact: true }).click();
    await page.waitForFunction(() => window.__softudcDesigner !== undefined);
    await dropFromPalette(page, 'vnet', 0.5, 0.3);
    await dropFromPalette(page, 'vm', 0.3, 0.1);
    await dropFromPalette(page, 'router', 0.5, 0.6);
    await drawEdge(page, 'vm-1', 'vnet-1');
    await drawEdge(page, 'router-1', 'vnet-1');
  });

  await test.step('connects the router to the external network and forwards a port to the VM', async () => {
    await clickNode(page, 'router-1');
    const panel = page.getByRole('complementary', { name: 'Properties' });
    const picker = panel.getByRole('group', { name: 'Connect to external network' });
    await picker.getByLabel('Network').selectOption((await picker.getByLabel('Network').locator('option', { hasText: net }).getAttribute('value'))!);
    await picker.getByRole('button', { name: 'Connect' }).click();
    await settled(page);
    await expect.poll(async () => (await designerEdges(page)).filter((e) => e.kind === 'externalLeg').length).toBe(1);
    expect((await designerNodes(page)).filter((n) => n.kind === 'externalNetwork').map((n) => n.name)).toEqual([net]);
    await panel.getByRole('button', { name: new RegExp(`^${net} · 198\\.51\\.100\\.10/24`) }).click();
    await expect(panel.getByRole('heading', { name: 'External leg of router router-1' })).toBeVisible();
    const add = panel.getByRole('group', { name: 'Add port forward' });
    await add.locator('input[name=fwdExternalPort]').fill('0');
    await add.locator('select[name=fwdVif]').selectOption({ index: 1 });
    await add.locator('input[name=fwdInternalPort]').fill('80');
    await add.getByRole('button', { name: 'Add forward' }).click();
    await expect(panel.getByRole('alert').filter({ hasText: 'externalPort' })).toBeVisible();
    await add.locator('input[name=fwdExternalPort]').fill('8080');
    await add.getByRole('button', { name: 'Add forward' }).click();
    await settled(page);
    await expect(panel.getByRole('listitem').filter({ hasText: 'tcp 198.51.100.10:8080' })).toContainText('vm-1/eth0');
    await shot(page, 'external-leg');
  });
});
