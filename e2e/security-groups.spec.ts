// Security groups in the designer with the mouse and keyboard: a new farm's
// default group, a new group and a rule (a bad port range refused at the
// rule, then fixed), a VIF put in the group from its properties, and undo.
import { test, expect, type Page } from '@playwright/test';
import { designerEdges, dropFromPalette, drawEdge, settled, shot, signIn } from './helpers.ts';

async function selectVif(page: Page, vmName: string) {
  const vm = (await page.evaluate(() => window.__softudcDesigner!.nodes())).find((n) => n.name === vmName)!;
  const vif = (await designerEdges(page)).find((e) => e.kind === 'vif' && e.source === vm.id)!;
  await page.mouse.click(vm.x + (vif.x - vm.x) * 0.6, vm.y + (vif.y - vm.y) * 0.6);
  await expect(page.getByRole('complementary', { name: 'Properties' }).getByRole('heading', { name: new RegExp(`VIF ${vmName}/`) })).toBeVisible();
}

test('edits security groups and a VIF’s groups in the designer', async ({ page }) => {
  test.setTimeout(180_000);
  await signIn(page);
  const farm = `sg-${Date.now().toString(36)}`;
  await page.getByLabel('New farm').fill(farm);
  await page.getByRole('button', { name: 'Create' }).click();
  await page.getByRole('link', { name: farm, exact: true }).click();
  await page.waitForFunction(() => window.__softudcDesigner !== undefined);
  await dropFromPalette(page, 'vnet', 0.5, 0.6);
  await dropFromPalette(page, 'vm', 0.5, 0.15);
  await drawEdge(page, 'vm-1', 'vnet-1');
  await page.getByRole('toolbar', { name: 'Designer' }).getByLabel('Select').selectOption({ label: 'nothing' });

  const panel = page.getByRole('region', { name: 'Security groups' });
  await test.step('a new farm has the default group', async () => {
    await expect(panel.getByLabel('Security group mode')).toHaveValue('default');
    await expect(panel.getByRole('table', { name: 'Rules of security group default' }).getByRole('row')).toHaveCount(4); // head, 2 rules, new
  });

  await test.step('adds a group and a rule; a bad port range is refused at the rule', async () => {
    const add = panel.getByRole('group', { name: 'Add security group' });
    await add.getByLabel('Name').fill('web');
    await add.getByRole('button', { name: 'Add group' }).click();
    await settled(page);
    const rules = panel.getByRole('table', { name: 'Rules of security group web' });
    await expect(rules).toBeVisible();
    await rules.getByLabel('New rule of web ports').fill('443-80');
    await rules.getByRole('button', { name: 'Add rule to web' }).click();
    await expect(rules.getByRole('alert')).toContainText('portTo: 80 is lower than portFrom 443');
    await shot(page, 'security-groups-error');
    await rules.getByLabel('New rule of web ports').fill('80-443');
    await rules.getByRole('button', { name: 'Add rule to web' }).click();
    await settled(page);
    await expect(rules.getByRole('alert')).toHaveCount(0);
    await expect(rules.getByLabel('Rule 1 of web ports')).toHaveValue('80-443');
    await shot(page, 'security-groups');
  });

  await test.step('puts the VIF in the group, and undo takes it out', async () => {
    await selectVif(page, 'vm-1');
    const props = page.getByRole('complementary', { name: 'Properties' });
    const groups = props.getByRole('group', { name: 'Security groups' });
    await expect(groups.getByLabel('default')).toBeChecked(); // joined when the VIF was drawn
    await groups.getByLabel('web').check();
    await groups.getByRole('button', { name: 'Set groups' }).click();
    await settled(page);
    await expect(groups.getByLabel('web')).toBeChecked();
    await page.getByRole('button', { name: 'Undo' }).click();
    await settled(page);
    await expect(groups.getByLabel('web')).not.toBeChecked();
    await expect(groups.getByLabel('default')).toBeChecked();
  });
});
