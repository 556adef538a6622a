import { test, expect } from '@playwright/test';

const password = process.env.SOFTUDC_ADMIN_PASSWORD ?? '';

test('signs in, creates a farm and sees it listed', async ({ page }) => {
  await page.goto('/farms');
  await expect(page).toHaveURL(/\/login$/);
  await page.screenshot({ path: 'e2e/artifacts/login.png', fullPage: true });

  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill('wrong-password-123');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert').filter({ hasText: /username or password/i })).toBeVisible();

  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(/\/farms$/);
  await expect(page.getByRole('heading', { name: 'Farms' })).toBeVisible();

  const name = `web-${Date.now()}`;
  await page.getByLabel('New farm').fill(name);
  await page.getByRole('button', { name: 'Create' }).click();
  await expect(page.getByRole('cell', { name, exact: true })).toBeVisible();
  await page.screenshot({ path: 'e2e/artifacts/farms.png', fullPage: true });

  await page.getByRole('link', { name: 'Hosts' }).click();
  await expect(page.getByRole('heading', { name: 'Hosts' })).toBeVisible();
  await page.screenshot({ path: 'e2e/artifacts/hosts.png', fullPage: true });
});
