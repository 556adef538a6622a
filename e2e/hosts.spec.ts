// Hosts: an admin adds one and gets its enrollment token, shown once.
import { test, expect } from '@playwright/test';
import { shot, signIn } from './helpers.ts';

test('an admin adds a host and sees its one-time enrollment token', async ({ page }) => {
  await signIn(page);
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Hosts' }).click();
  const form = page.getByRole('form', { name: 'Add host' });
  const name = `spare-${Date.now().toString(36)}`;
  await form.getByLabel('Host name').fill(name);
  await form.getByLabel('Care-of address').fill('127.0.0.300');
  await form.getByRole('button', { name: 'Add host' }).click();
  // The API names the field; the message shows under it.
  await expect(form.getByLabel('Care-of address')).toHaveAttribute('aria-invalid', 'true');
  await expect(form.getByRole('alert')).toContainText('address');
  await form.getByLabel('Care-of address').fill('127.0.0.9');
  await form.getByRole('button', { name: 'Add host' }).click();
  const token = page.getByRole('alert', { name: 'Enrollment token' });
  await expect(token.getByTestId('enrollment-token')).toHaveText(/^sude_/);
  await expect(page.getByRole('table', { name: 'Hosts' }).getByRole('row').filter({ hasText: name })).toContainText('pending');
  await expect(page.getByRole('table', { name: 'Hosts' }).getByRole('row').filter({ hasText: name })).toContainText('not declared yet');
  await shot(page, 'hosts-enrollment-token');
  await token.getByRole('button', { name: 'Done' }).click();
  await expect(page.getByTestId('enrollment-token')).toHaveCount(0);
  // A fresh one on demand (the earlier one stops working).
  await page.getByRole('table', { name: 'Hosts' }).getByRole('row').filter({ hasText: name }).getByRole('button', { name: 'New enrollment token' }).click();
  await expect(page.getByTestId('enrollment-token')).toHaveText(/^sude_/);
});
