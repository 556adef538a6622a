// The whole console with the mouse: build a farm in the designer, fix a bad
// address, deploy it to the three local agents, ask its router for its
// forwarding table and to ping and trace, watch it live, migrate a VM.
import { test, expect, type Page } from '@playwright/test';
import { clickNode, designerEdges, designerNode, designerNodes, drawEdge, dropFromPalette, hostOfVm, settled, shot, signIn, topologyNodes, topologyVm } from './helpers.ts';

const HOSTS = ['local-1', 'local-2', 'local-3'];

async function placeOn(page: Page, node: string, host: string) {
  await clickNode(page, node);
  const panel = page.getByRole('complementary', { name: 'Properties' });
  await panel.getByLabel('Host').selectOption({ label: host });
  await panel.getByRole('button', { name: 'Apply' }).click();
  await settled(page);
  await expect(panel.getByLabel('Host')).toHaveValue(/.+/);
}

test('designs, deploys, watches and migrates a farm', async ({ page }) => {
  test.setTimeout(300_000);
  await signIn(page);

  await test.step('the three local agents are online', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Hosts' }).click();
    const table = page.getByRole('table', { name: 'Hosts' });
    for (const h of HOSTS) {
      await expect(table.getByRole('row').filter({ hasText: h }).getByText('online', { exact: true })).toBeVisible({ timeout: 90_000 });
      // The agents run as root here: they declared both guest kinds.
      await expect(table.getByRole('row').filter({ hasText: h })).toContainText('emulated, tap');
    }
    await shot(page, 'hosts');
  });

  const farm = `shop-${Date.now().toString(36)}`;
  await test.step('creates a farm and opens the designer', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Farms' }).click();
    await page.getByLabel('New farm').fill(farm);
    await page.getByRole('button', { name: 'Create' }).click();
    await page.getByRole('link', { name: farm, exact: true }).click();
    await expect(page.getByRole('heading', { name: `Farm ${farm}` })).toBeVisible();
    await expect(page.getByTestId('designer-canvas')).toBeVisible();
    await page.waitForFunction(() => window.__softudcDesigner !== undefined);
  });

  await test.step('filters with its firewall node rather than security groups', async () => {
    // A new farm starts in mode `default` (docs/security-groups.md), where a VM takes in only what its
    // groups allow: the router's own pings below would be dropped at the VMs. This farm opts out.
    const mode = page.getByRole('complementary', { name: 'Properties' }).getByLabel('Security group mode');
    await expect(mode).toHaveValue('default');
    await mode.selectOption('none');
    await expect(mode).toHaveValue('none');
  });

  await test.step('draws 2 vnets, 3 VMs, a router and a firewall with the mouse', async () => {
    await dropFromPalette(page, 'vnet', 0.5, 0.3); // vnet-1
    await dropFromPalette(page, 'vnet', 0.5, 0.72); // vnet-2
    await dropFromPalette(page, 'vm', 0.2, 0.1); // vm-1
    await dropFromPalette(page, 'vm', 0.8, 0.1); // vm-2
    await dropFromPalette(page, 'vm', 0.5, 0.92); // vm-3
    await dropFromPalette(page, 'router', 0.15, 0.52); // router-1
    await dropFromPalette(page, 'firewall', 0.85, 0.52); // fw-1
    await drawEdge(page, 'vm-1', 'vnet-1');
    await drawEdge(page, 'vm-2', 'vnet-1');
    await drawEdge(page, 'vm-3', 'vnet-2');
    await drawEdge(page, 'router-1', 'vnet-1');
    await drawEdge(page, 'vnet-2', 'router-1'); // either direction works
    await drawEdge(page, 'fw-1', 'vnet-1');
    const kinds = (await designerEdges(page)).map((e) => e.kind).sort();
    expect(kinds).toEqual(['firewallInterface', 'routerInterface', 'routerInterface', 'vif', 'vif', 'vif']);
  });

  await test.step('places the VMs, router and firewall on hosts', async () => {
    await placeOn(page, 'vm-1', 'local-1');
    await placeOn(page, 'vm-2', 'local-2');
    await placeOn(page, 'vm-3', 'local-3');
    await placeOn(page, 'router-1', 'local-2');
    await placeOn(page, 'fw-1', 'local-3');
    // Nothing runs yet, so there is nothing live to ask.
    await expect(page.getByTestId('live-firewall-undeployed')).toContainText('deploy the farm to inspect it');
  });

  await test.step('a bad IP is refused at the field, then fixed', async () => {
    const vm1 = (await page.evaluate(() => window.__softudcDesigner!.nodes())).find((n) => n.name === 'vm-1')!;
    const vif = (await designerEdges(page)).find((e) => e.kind === 'vif' && e.source === vm1.id)!;
    // Click the edge a third of the way along, off its label.
    const a = vm1;
    const mid = { x: vif.x, y: vif.y };
    await page.mouse.click(a.x + (mid.x - a.x) * 0.6, a.y + (mid.y - a.y) * 0.6);
    const panel = page.getByRole('complementary', { name: 'Properties' });
    await expect(panel.getByRole('heading', { name: /VIF vm-1\// })).toBeVisible();
    const ip = panel.getByLabel('IP address');
    await expect(ip).toHaveValue(/^10\.1\.0\.\d+$/); // assigned by the API
    await expect(panel.getByLabel('MAC address')).toHaveValue(/^02:/);
    await ip.fill('10.9.0.5');
    await panel.getByRole('button', { name: 'Apply' }).click();
    await expect(ip).toHaveAttribute('aria-invalid', 'true');
    await expect(panel.getByRole('alert')).toContainText(/^ip: .*10\.9\.0\.5/);
    await shot(page, 'designer-validation-error');
    await ip.fill('10.1.0.50');
    await panel.getByRole('button', { name: 'Apply' }).click();
    await settled(page);
    await expect(panel.getByRole('alert')).toHaveCount(0);
    await expect.poll(async () => (await designerEdges(page)).find((e) => e.id === vif.id)?.label).toBe('10.1.0.50');
    await shot(page, 'designer');
  });

  await test.step('undo and redo go through the API', async () => {
    await page.keyboard.press('Escape');
    await page.getByRole('button', { name: 'Undo' }).click();
    await settled(page);
    await expect.poll(async () => (await designerEdges(page)).find((e) => e.label === '10.1.0.50')).toBeUndefined();
    await page.getByRole('button', { name: 'Redo' }).click();
    await settled(page);
    await expect.poll(async () => (await designerEdges(page)).some((e) => e.label === '10.1.0.50')).toBe(true);
  });

  await test.step('deploys to the three local agents: applied on 3 of 3', async () => {
    await page.getByRole('navigation', { name: 'Farm' }).getByRole('link', { name: 'Deploy' }).click();
    const plan = page.getByRole('table', { name: 'Changes per host' });
    for (const h of HOSTS) await expect(plan.getByRole('rowheader', { name: h })).toBeVisible();
    await shot(page, 'deploy-plan');
    await page.getByRole('button', { name: /^Deploy revision \d+$/ }).click();
    await expect(page.getByTestId('deploy-progress')).toContainText(/applied on 3 of 3 hosts/i, { timeout: 60_000 });
    await expect(page.getByTestId('deploy-progress')).toContainText('complete');
    await shot(page, 'deploy-progress');
  });

  await test.step('the router answers live: connected routes, ping and traceroute streamed from it', async () => {
    await page.getByRole('navigation', { name: 'Farm' }).getByRole('link', { name: 'Design' }).click();
    await page.waitForFunction(() => window.__softudcDesigner !== undefined);
    await expect.poll(async () => (await designerNodes(page)).length).toBe(7);
    const vifIp = async (vm: string) => {
      const n = await designerNode(page, vm);
      return (await designerEdges(page)).find((e) => e.kind === 'vif' && e.source === n.id)!.label;
    };
    const vm1Ip = await vifIp('vm-1');
    const vm3Ip = await vifIp('vm-3');
    expect(vm1Ip).toBe('10.1.0.50');
    expect(vm3Ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);

    await clickNode(page, 'router-1');
    const live = page.getByRole('complementary', { name: 'Properties' }).getByTestId('live-router');
    await expect(live.getByRole('heading', { name: 'Live' })).toBeVisible();
    const routes = live.getByRole('table', { name: 'Forwarding table' });
    // One connected route per vnet the router has an interface on, read from the agent on local-2.
    await expect(routes.locator('tbody tr[data-source="connected"]')).toHaveCount(2, { timeout: 20_000 });
    await expect(routes.getByRole('row').filter({ has: page.getByRole('rowheader', { name: '10.1.0.0/24', exact: true }) })).toContainText('direct');
    await expect(live.getByTestId('live-router-fetched')).toContainText('From host local-2');

    const ping = live.getByRole('form', { name: 'Ping' });
    await ping.getByLabel('Target IP').fill(vm1Ip);
    await ping.getByLabel('Count').fill('4');
    await ping.getByRole('button', { name: 'Ping' }).click();
    const pingOut = ping.getByRole('list', { name: 'Ping results' });
    const replies = pingOut.locator('li[data-kind="reply"]');
    // Streamed: a reply shows while later probes are still on their way (one a second).
    await expect(replies.first()).toContainText(`reply from ${vm1Ip}: seq=`, { timeout: 15_000 });
    await expect(pingOut.locator('li[data-kind="summary"]')).toHaveCount(0);
    await expect(ping.getByRole('button', { name: 'Stop' })).toBeVisible();
    await expect(pingOut.locator('li[data-kind="summary"]')).toHaveText(/^4 sent, [1-4] received, \d+(\.\d+)?% loss; rtt min\/avg\/max /, { timeout: 20_000 });
    expect(await replies.count()).toBeGreaterThanOrEqual(1);
    await expect(ping.getByRole('button', { name: 'Ping' })).toBeVisible();
    await expect(ping.getByRole('alert')).toHaveCount(0);
    // The ping made the router resolve vm-1; the view is read again when a probe ends.
    await expect(live.getByRole('table', { name: 'ARP cache' }).getByRole('rowheader', { name: vm1Ip, exact: true })).toBeVisible({ timeout: 10_000 });

    const trace = live.getByRole('form', { name: 'Traceroute' });
    await trace.getByLabel('Target IP').fill(vm3Ip);
    await trace.getByRole('button', { name: 'Trace' }).click();
    const hops = trace.getByRole('list', { name: 'Traceroute hops' });
    const summary = hops.locator('li[data-kind="summary"]');
    await expect(summary).toHaveText(new RegExp(`^reached ${vm3Ip.replaceAll('.', '\\.')} in \\d+ hops?$`), { timeout: 40_000 });
    // The hop list ends at vm-3 on the other vnet.
    await expect(hops.locator('li[data-kind="hop"]').last()).toContainText(`${vm3Ip}`);
    await expect(hops.locator('li[data-kind="hop"]').last()).toContainText('(target)');
    await hops.scrollIntoViewIfNeeded();
    await shot(page, 'designer-router-live');

    // The firewall answers from local-3: its rules' hits, the default policy's and its connections.
    await clickNode(page, 'fw-1');
    const fwLive = page.getByRole('complementary', { name: 'Properties' }).getByTestId('live-firewall');
    await expect(fwLive.getByTestId('live-default-policy')).toContainText('default policy', { timeout: 20_000 });
    await expect(fwLive.getByTestId('live-connections')).toHaveText(/^\d+ connections?/);
    await expect(fwLive.getByTestId('live-firewall-fetched')).toContainText('From host local-3');
  });

  await test.step('host detail shows VARP entries appear', async () => {
    // Attaching a VIF announces it (gratuitous ANNOUNCE) to the hosts that share its vnet; those cache it.
    let found = false;
    for (const h of HOSTS) {
      await page.goto('/hosts');
      await page.getByRole('table', { name: 'Hosts' }).getByRole('link', { name: h, exact: true }).click();
      await expect(page.getByRole('heading', { name: `Host ${h}` })).toBeVisible();
      await expect(page.getByRole('table', { name: 'VIFs' }).getByRole('rowheader', { name: new RegExp(`${farm}/`) }).first()).toBeVisible({ timeout: 20_000 });
      // DHCP and DNS per vnet: the farm's vnets (DHCP is on by default), named farm/vnet.
      await expect(page.getByRole('table', { name: 'DHCP and DNS per vnet' }).getByRole('rowheader', { name: new RegExp(`^${farm}/`) }).first()).toBeVisible({ timeout: 20_000 });
      const varp = page.getByRole('table', { name: 'VARP cache' }).getByRole('row').filter({ hasText: 'REACHABLE' });
      try {
        await expect(varp.first()).toBeVisible({ timeout: 15_000 });
        found = true;
        await shot(page, 'host-detail');
        break;
      } catch {
        // This host applied last, so it heard no announcements: try the next one.
      }
    }
    expect(found, 'a VARP entry on one of the hosts').toBe(true);
  });

  await test.step('the physical view shows each VM on its host', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Topology' }).click();
    await page.getByRole('tab', { name: 'Physical' }).click();
    await expect.poll(() => hostOfVm(page, farm, 'vm-1'), { timeout: 20_000 }).toBe('local-1');
    expect(await hostOfVm(page, farm, 'vm-2')).toBe('local-2');
    expect(await hostOfVm(page, farm, 'vm-3')).toBe('local-3');
    await expect.poll(async () => topologyVm(await topologyNodes(page), farm, 'vm-3')?.data.state, { timeout: 20_000 }).toBe('running');
    await shot(page, 'topology-physical');
  });

  await test.step('migrates a VM by dragging it onto another host', async () => {
    const nodes = await topologyNodes(page);
    const vm = topologyVm(nodes, farm, 'vm-3')!;
    const target = nodes.find((n) => n.kind === 'host' && n.data.name === 'local-1')!;
    await page.mouse.move(vm.x, vm.y);
    await page.mouse.down();
    // Into the target host's box, below its VMs (inside its padding).
    await page.mouse.move(target.box.x1 + 12, target.box.y2 - 6, { steps: 20 });
    await page.mouse.up();
    const dialog = page.getByRole('dialog', { name: 'Move VM vm-3 to local-1?' });
    await expect(dialog).toBeVisible();
    await shot(page, 'topology-migrate-confirm');
    await dialog.getByRole('button', { name: 'Migrate' }).click();
    await expect(page.getByTestId('migration-status')).toContainText(/VM vm-3 moved to local-1 — applied on (\d+) of \1 hosts$/, { timeout: 60_000 });
    await expect.poll(() => hostOfVm(page, farm, 'vm-3'), { timeout: 20_000 }).toBe('local-1');
    await expect.poll(async () => topologyVm(await topologyNodes(page), farm, 'vm-3')?.data.state, { timeout: 20_000 }).toBe('running');
    await shot(page, 'topology-after-migration');
  });

  await test.step('virtual and table views, audit log', async () => {
    await page.getByRole('tab', { name: 'Virtual' }).click();
    await page.getByRole('combobox', { name: 'Farm' }).selectOption({ label: farm });
    await expect.poll(() => page.evaluate(() => window.__softudcVirtual?.nodes().length ?? 0)).toBe(7);
    await shot(page, 'topology-virtual');
    await page.getByRole('tab', { name: 'Table' }).click();
    await page.getByRole('searchbox', { name: 'Filter' }).fill(farm);
    await expect(page.getByRole('table', { name: 'VMs' }).getByRole('row').filter({ hasText: 'vm-3' })).toContainText('local-1');
    await shot(page, 'topology-table');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit' }).click();
    await expect(page.getByRole('table', { name: 'Audit entries' }).getByText('vm.migrate').first()).toBeVisible();
    await shot(page, 'audit');
  });
});

test('someone else’s change stops editing with a clear message until reload', async ({ page, context }) => {
  await signIn(page);
  const farm = `race-${Date.now().toString(36)}`;
  await page.getByLabel('New farm').fill(farm);
  await page.getByRole('button', { name: 'Create' }).click();
  await page.getByRole('link', { name: farm, exact: true }).click();
  await page.waitForFunction(() => window.__softudcDesigner !== undefined);

  const other = await context.newPage();
  await other.goto(page.url());
  await other.waitForFunction(() => window.__softudcDesigner !== undefined);
  await other.getByRole('button', { name: 'Add Vnet' }).click(); // the keyboard path: placed mid-view
  await settled(other);
  await other.close();

  const banner = page.getByRole('alert').filter({ hasText: 'This farm changed.' });
  // The page hears of the other edit at once (farm.changes), before any write of its own.
  await expect(banner).toContainText('Someone else changed this farm meanwhile', { timeout: 5_000 });
  await expect(page.getByRole('button', { name: 'Add VM' })).toBeDisabled();
  await shot(page, 'designer-conflict');
  await banner.getByRole('button', { name: 'Reload farm' }).click();
  await expect(banner).toHaveCount(0);
  await expect.poll(async () => (await page.evaluate(() => window.__softudcDesigner!.nodes())).map((n) => n.name)).toEqual(['vnet-1']);
  await page.getByRole('button', { name: 'Add VM' }).click();
  await expect.poll(async () => (await page.evaluate(() => window.__softudcDesigner!.nodes())).length).toBe(2);
  await settled(page);

  // Delete with the keyboard, confirm, then bring it back with Ctrl+Z.
  await clickNode(page, 'vm-1');
  await page.keyboard.press('Delete');
  const dialog = page.getByRole('dialog', { name: 'Delete VM vm-1?' });
  await expect(dialog).toBeVisible();
  await dialog.getByRole('button', { name: 'Delete' }).click();
  await expect.poll(async () => (await page.evaluate(() => window.__softudcDesigner!.nodes())).map((n) => n.name)).toEqual(['vnet-1']);
  await settled(page);
  await page.keyboard.press('Control+z');
  await expect.poll(async () => (await page.evaluate(() => window.__softudcDesigner!.nodes())).map((n) => n.name).sort()).toEqual(['vm-1', 'vnet-1']);
  await settled(page);

  // A typed but unapplied change: leaving asks first.
  await clickNode(page, 'vm-1');
  await page.getByRole('complementary', { name: 'Properties' }).getByLabel('Name').fill('renamed');
  const asked = page.waitForEvent('dialog').then(async (d) => {
    const text = d.message();
    await d.dismiss();
    return text;
  });
  await page.getByRole('navigation', { name: 'Farm' }).getByRole('link', { name: 'Deploy' }).click();
  expect(await asked).toContain('unsaved changes');
  await expect(page).toHaveURL(/\/farms\/[^/]+$/);
});
