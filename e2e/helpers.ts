// Helpers for the browser suite: sign-in, and real mouse gestures aimed with
// the read-only hooks the canvases expose (window.__softudcDesigner,
// window.__softudcTopology). The hooks only say where things are; every
// click and drag below is a real mouse event.
import { expect, type Page } from '@playwright/test';

export const password = process.env.SOFTUDC_ADMIN_PASSWORD ?? '';
export const shot = (page: Page, name: string) => page.screenshot({ path: `e2e/artifacts/${name}.png`, fullPage: true });

export async function signIn(page: Page) {
  await page.goto('/login');
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/farms$/);
}

export interface DesignerNode {
  id: string;
  kind: string;
  name: string;
  x: number;
  y: number;
}

export const designerNodes = (page: Page): Promise<DesignerNode[]> =>
  page.evaluate(() => window.__softudcDesigner?.nodes() ?? []);
export const designerEdges = (page: Page) => page.evaluate(() => window.__softudcDesigner?.edges() ?? []);

export async function designerNode(page: Page, name: string): Promise<DesignerNode> {
  const n = (await designerNodes(page)).find((x) => x.name === name);
  if (!n) throw new Error(`no node named ${name} on the canvas`);
  return n;
}

/** Waits until the designer has applied the last change (the undo stack is idle and the farm re-read). */
export async function settled(page: Page) {
  await expect(page.getByRole('toolbar', { name: 'Designer' }).getByRole('status')).not.toHaveText(/Saving…/);
}

/** Drags a palette item onto the canvas at a fraction of its size, and waits for the node to appear. */
export async function dropFromPalette(page: Page, kind: 'vm' | 'vnet' | 'router' | 'firewall', fx: number, fy: number) {
  const before = (await designerNodes(page)).length;
  const item = (await page.getByTestId(`palette-${kind}`).boundingBox())!;
  const canvas = (await page.getByTestId('designer-canvas').boundingBox())!;
  await page.mouse.move(item.x + item.width / 2, item.y + item.height / 2);
  await page.mouse.down();
  await page.mouse.move(canvas.x + canvas.width * fx, canvas.y + canvas.height * fy, { steps: 15 });
  await page.mouse.up();
  await expect.poll(async () => (await designerNodes(page)).length).toBe(before + 1);
  await settled(page);
}

/** Shift + drag from one node to another: draws the VIF, interface or link. */
export async function drawEdge(page: Page, from: string, to: string) {
  const before = (await designerEdges(page)).length;
  const a = await designerNode(page, from);
  const b = await designerNode(page, to);
  await page.keyboard.down('Shift');
  await page.mouse.move(a.x, a.y);
  await page.mouse.down();
  await page.mouse.move(b.x, b.y, { steps: 12 });
  await page.mouse.up();
  await page.keyboard.up('Shift');
  await expect.poll(async () => (await designerEdges(page)).length).toBe(before + 1);
  await settled(page);
}

export async function clickNode(page: Page, name: string) {
  const n = await designerNode(page, name);
  await page.mouse.click(n.x, n.y);
  await expect(page.getByRole('complementary', { name: 'Properties' }).getByRole('heading').first()).toContainText(name);
}

export interface TopologyNode {
  id: string;
  kind: string;
  label: string;
  parent: string | null;
  data: Record<string, unknown>;
  x: number;
  y: number;
  box: { x1: number; y1: number; x2: number; y2: number };
}

export const topologyNodes = (page: Page): Promise<TopologyNode[]> =>
  page.evaluate(() => (window.__softudcTopology?.nodes() ?? []) as never);

export const topologyVm = (nodes: TopologyNode[], farm: string, vmName: string) =>
  nodes.find((n) => n.kind === 'vm' && n.data.farm === farm && n.data.name === vmName);

/** Name of the host (physical view) a VM of `farm` is drawn in, or null. */
export async function hostOfVm(page: Page, farm: string, vmName: string): Promise<string | null> {
  const nodes = await topologyNodes(page);
  const vm = topologyVm(nodes, farm, vmName);
  const host = vm && nodes.find((n) => n.id === vm.parent);
  return host ? String(host.data.name) : null;
}
