import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { startTestServer, ADMIN_PASSWORD, type TestServer } from './support/test-server';
import { transportFixtures } from './transport-helpers';
import { openConsoleBrowser, type ConsoleBrowser } from './console-browser';
import { CONSOLE_DIR } from '../src/console/console-routes';

const OPERATOR = { username: 'olga', password: 'operator-password' };
const ACCOUNT = 'Acme Corp';
const LICENSES = [
  { tag: 'regid.acme.UCM_Enhanced', family: 'UCM', tier: 2, quantity: 10 },
  { tag: 'regid.acme.UCM_Basic', family: 'UCM', tier: 1, quantity: 2 },
  { tag: 'regid.acme.DNA_Advantage', quantity: 1 },
];

/**
 * The admin console in a real browser (Debian's Chromium through playwright-core) against the real
 * server: every page is checked with axe-core and for CSP refusals, and photographed.
 */
describe('Admin console in a browser', () => {
  let server: TestServer;
  let b: ConsoleBrowser;
  let page: Page;
  let adminToken: string;
  let copiedToken = '';
  const base = () => server.url;
  const heading = (name: string) => page.getByRole('heading', { name, level: 1 }).waitFor();
  const dialog = () => page.getByRole('dialog');

  /** A page is done when its axe check has no serious violation and the browser refused nothing. */
  async function checkPage(name: string) {
    await page.waitForLoadState('networkidle');
    // Notifications would cover the page in the screenshot.
    const toastClose = page.locator('.pf-v6-c-alert-group.pf-m-toast .pf-v6-c-alert__action button');
    while ((await toastClose.count()) > 0) await toastClose.first().click();
    await b.screenshot(name);
    expect({ page: name, violations: await b.accessibilityViolations() }).toEqual({ page: name, violations: [] });
    expect(b.cspViolations).toEqual([]);
  }
  async function nav(label: string) {
    await page.getByRole('navigation', { name: 'Workspaces' }).getByRole('link', { name: label, exact: true }).click();
  }
  async function login(username: string, password: string) {
    await page.getByLabel(/^Username/).fill(username);
    await page.getByLabel(/^Password/).fill(password);
    await page.getByLabel(/^Password/).press('Enter');
  }
  async function openLicensing(tab: string) {
    await page.goto(`${base()}/licensing/${encodeURIComponent(ACCOUNT)}/Default/${tab}`);
  }

  beforeAll(async () => {
    if (!existsSync(path.join(CONSOLE_DIR, 'index.html'))) throw new Error('the console is not built: run npm run build');
    server = await startTestServer();
    adminToken = await server.login();
    const created = await server.http().post('/api/v1/users').auth(adminToken, { type: 'bearer' }).send({ ...OPERATOR, role: 'operator' });
    expect(created.status).toBe(201);
    b = await openConsoleBrowser();
    page = b.page;
  }, 60_000);
  afterAll(async () => {
    await b?.close();
    await server?.close();
  });

  test('When the console is opened, then the login page is served with a strict CSP, and a wrong password is refused on the page', async () => {
    const res = await page.goto(`${base()}/admin/accounts`);
    const csp = res!.headers()['content-security-policy'];
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    await checkPage('login');
    await login('admin', 'not-the-password');
    await page.getByText(/invalid|incorrect|wrong/i).first().waitFor();
    await login('admin', ADMIN_PASSWORD);
    await heading('Accounts');
    const cookies = await b.context.cookies(base());
    expect(cookies.find((c) => c.name === 'slm_session')).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Strict' });
    expect(await page.evaluate(() => document.cookie)).not.toContain('slm_session');
    expect(await page.evaluate(() => JSON.stringify(window.localStorage))).toBe('{}');
  }, 60_000);

  test('When an admin creates an account, then it is listed as a request, a duplicate name is refused next to the field, and approving makes it active', async () => {
    await page.getByText('No accounts yet').waitFor();
    await checkPage('accounts-empty');
    await page.getByRole('button', { name: 'New account' }).first().click();
    await dialog().getByLabel('Name').fill(ACCOUNT);
    await dialog().getByLabel('Contact email').fill('licensing@acme.example');
    await dialog().getByRole('button', { name: 'Create' }).click();
    await page.getByRole('button', { name: 'Account requests (1)' }).click();
    await page.getByRole('row', { name: new RegExp(ACCOUNT) }).getByText('REQUESTED').waitFor();

    await page.getByRole('button', { name: 'New account' }).click();
    await dialog().getByLabel('Name').fill(ACCOUNT);
    await dialog().getByRole('button', { name: 'Create' }).click();
    await dialog().locator('.pf-m-error', { hasText: /exists/i }).waitFor();
    await b.screenshot('accounts-create-error');
    await dialog().getByRole('button', { name: 'Cancel' }).click();

    await page.getByRole('button', { name: `Approve ${ACCOUNT}` }).click();
    await page.getByRole('button', { name: 'All accounts' }).click();
    await page.getByRole('row', { name: new RegExp(ACCOUNT) }).getByText('ACTIVE').waitFor();
    await checkPage('accounts');
    await page.getByRole('link', { name: ACCOUNT }).click();
    await page.getByRole('heading', { name: 'Virtual accounts' }).waitFor();
    await page.getByRole('link', { name: 'Open in Licensing: Default' }).waitFor();
    await checkPage('account-detail');
  }, 60_000);

  test('When an admin imports an entitlement file and creates and copies a registration token, then a simulated product registers with it and shows under Product Instances with its licenses', async () => {
    const fx = transportFixtures(server, () => adminToken);
    const entitlements = { licenses: LICENSES.map((l) => fx.licenseLine(ACCOUNT, l.tag, l.quantity, l.family ? { family: l.family, tier: l.tier } : {})) };
    await openLicensing('licenses');
    await page.getByText('No licenses').waitFor();
    const fileInput = page.locator('input[type=file][aria-label="Import entitlement file"]');
    const broken = { licenses: [{ ...entitlements.licenses[0], quantity: -1 }] };
    await fileInput.setInputFiles({ name: 'broken.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(broken)) });
    await page.getByText(/nothing was imported/).waitFor();
    await page.getByRole('listitem').filter({ hasText: /entry 1 quantity/ }).waitFor();
    await fileInput.setInputFiles({ name: 'acme.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(entitlements)) });
    await page.getByText('acme.json imported').waitFor();
    await page.getByRole('row', { name: /UCM_Enhanced/ }).waitFor();

    await page.getByRole('tab', { name: 'Inventory: General' }).click();
    await page.getByText('No registration tokens').waitFor();
    await page.getByRole('button', { name: 'New token' }).first().click();
    await dialog().getByLabel('Description').fill('Branch routers');
    await dialog().getByLabel('Maximum number of uses').fill('5');
    await dialog().getByRole('button', { name: 'Create token' }).click();
    await page.getByRole('row', { name: /Branch routers/ }).waitFor();
    await page.getByTestId('transport-url').getByRole('textbox').waitFor();
    expect(await page.getByTestId('transport-url').getByRole('textbox').inputValue()).toBe(`${server.url.replace('127.0.0.1', '127.0.0.1')}/Transportgateway/services/DeviceRequestHandler`);
    await checkPage('licensing-inventory');
    await page.getByRole('button', { name: 'Copy token Branch routers' }).click();
    await page.getByText('copied to the clipboard').waitFor();
    copiedToken = await page.evaluate(() => navigator.clipboard.readText());
    expect(copiedToken).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);

    const product = fx.product({ hostname: 'edge-router-7', udi: { pid: 'ISR4451', sn: 'FGL0001' } });
    expect((await product.register(copiedToken)).status).toBe('REGISTERED');
    const answer = await product.authorize([
      { tag: 'regid.acme.UCM_Basic', count: 5 },
      { tag: 'regid.acme.DNA_Advantage', count: 3 },
    ]);
    expect(answer.overall).toBe('OUT_OF_COMPLIANCE');

    await page.getByRole('tab', { name: 'Product Instances' }).click();
    const row = page.getByRole('row', { name: /edge-router-7/ });
    await row.getByText('regid.acme.UCM_Basic: 5').waitFor();
    await row.getByText('ISR4451 / FGL0001').waitFor();
    await checkPage('licensing-product-instances');
    await row.getByRole('button', { name: 'edge-router-7', exact: true }).click();
    await dialog().getByText('ISR4451 / FGL0001').waitFor();
    await dialog().getByText(/^serial [0-9a-f]+, expires/).waitFor();
    await checkPage('licensing-product-instance-detail');
    await page.keyboard.press('Escape');
    expect(await dialog().count()).toBe(0);
  }, 90_000);

  test('When licenses are over-used, then the Licenses tab shows substitution and an Out of Compliance row, and Alerts shows its alert', async () => {
    await page.getByRole('tab', { name: 'Licenses' }).click();
    await page.getByRole('row', { name: /UCM_Basic/ }).getByText('+3 borrowed', { exact: false }).waitFor();
    await page.getByRole('row', { name: /UCM_Enhanced/ }).getByText('-3 lent', { exact: false }).waitFor();
    await page.getByRole('row', { name: /DNA_Advantage/ }).getByText('Out of Compliance').waitFor();
    await checkPage('licensing-licenses');
    await page.getByRole('tab', { name: 'Alerts' }).click();
    await page.getByRole('row', { name: /Insufficient Licenses/ }).getByRole('gridcell', { name: 'regid.acme.DNA_Advantage license', exact: true }).waitFor();
    await checkPage('licensing-alerts');
    await page.getByRole('tab', { name: 'Reports' }).click();
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Licenses (CSV)' }).click();
    const csv = await (await download).path();
    expect(require('node:fs').readFileSync(csv, 'utf8')).toMatch(/^License,Tag,.*\r\n.*regid\.acme\.DNA_Advantage.*Out of Compliance/s);
    await checkPage('licensing-reports');
  }, 60_000);


  test('When an admin visits the other pages, then each renders without serious accessibility violations', async () => {
    for (const [label, shot] of [
      ['Users', 'users'],
      ['Synchronization', 'synchronization'],
      ['High Availability', 'high-availability'],
      ['Event Log', 'event-log'],
    ]) {
      await nav(label);
      await heading(label);
      await checkPage(shot);
    }
    await page.getByLabel('Filter by Action (e.g. account.approve)').fill('account.approve');
    await page.getByRole('button', { name: 'Filter' }).click();
    // The one approval, alone: the server filtered the list.
    await page.waitForFunction(() => document.querySelectorAll('table[aria-label="Events"] tbody tr').length === 1);
    expect(await page.locator('table[aria-label="Events"] tbody tr').textContent()).toContain('account.approve');

    await page.goto(`${base()}/admin/api-toolkit?account=${encodeURIComponent(ACCOUNT)}`);
    await heading('API Toolkit');
    // Keyboard: the first Tab reaches the skip link, which moves focus to the page's content.
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    await page.getByRole('button', { name: 'New API client' }).first().click();
    await dialog().getByLabel('Name').fill('inventory-sync');
    await dialog().getByRole('button', { name: 'Create' }).click();
    await page.getByText('Copy the secret now').waitFor();
    await dialog().getByRole('button', { name: 'Done' }).click();
    await page.getByRole('row', { name: /inventory-sync/ }).waitFor();
    await checkPage('api-toolkit');

    await page.setViewportSize({ width: 420, height: 800 });
    await openLicensing('licenses');
    await page.getByRole('button', { name: 'Main navigation' }).waitFor();
    await checkPage('narrow-licenses');
    await page.setViewportSize({ width: 1280, height: 800 });
  }, 90_000);

  test('When an operator logs in, then no write control is shown, the API refuses a write, and they can change their own password', async () => {
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByText('You have logged out.').waitFor();
    await login(OPERATOR.username, OPERATOR.password);
    await nav('Accounts');
    await heading('Accounts');
    await page.getByRole('row', { name: new RegExp(ACCOUNT) }).waitFor();
    expect(await page.getByRole('button', { name: /New account|Approve|Deactivate|Reject/ }).count()).toBe(0);
    await checkPage('operator-accounts');
    await openLicensing('inventory');
    await page.getByRole('row', { name: /Branch routers/ }).waitFor();
    expect(await page.getByRole('button', { name: /New token|Revoke/ }).count()).toBe(0);
    await nav('Security: Certificates');
    await page.getByTestId('hcn-current').waitFor();
    expect(await page.getByRole('button', { name: 'Change Host Common Name' }).count()).toBe(0);
    const refused = await page.evaluate(async () => {
      const csrf = document.cookie.split('; ').find((c) => c.startsWith('slm_csrf='))!.split('=')[1];
      const res = await fetch('/api/v1/accounts', { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': csrf }, body: JSON.stringify({ name: 'Sneaky' }) });
      return res.status;
    });
    expect(refused).toBe(403);

    await page.getByRole('button', { name: 'Change password' }).click();
    await dialog().getByLabel('Current password').fill('not-my-password');
    await dialog().getByLabel('New password').fill('operator-password-2');
    await dialog().getByRole('button', { name: 'Change password' }).click();
    await dialog().locator('.pf-m-error', { hasText: 'the current password is wrong' }).waitFor();
    await b.screenshot('change-password-error');
    await dialog().getByLabel('Current password').fill(OPERATOR.password);
    await dialog().getByRole('button', { name: 'Change password' }).click();
    await page.getByText('Your password was changed').waitFor();
    expect(await dialog().count()).toBe(0);
  }, 60_000);

  test('When the session is revoked (password reset by an admin), then the next page shows the login page with a message', async () => {
    const reset = await server.http().put(`/api/v1/users/${OPERATOR.username}/password`).auth(adminToken, { type: 'bearer' }).send({ newPassword: 'a-new-password-1' });
    expect(reset.status).toBe(204);
    await nav('Accounts');
    await page.getByText(/session was ended|no longer valid|expired/).waitFor({ timeout: 20_000 });
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    await b.screenshot('session-revoked');
  }, 60_000);

  test('When an admin (logged in again) changes the Host Common Name, then a bad name is refused next to the field and a good one shows with its new certificate', async () => {
    await login('admin', ADMIN_PASSWORD);
    await nav('Security: Certificates');
    await heading('Security: Certificates');
    const field = page.getByLabel('New Host Common Name');
    await field.fill('*.example.com');
    await page.getByRole('button', { name: 'Change Host Common Name' }).click();
    await page.locator('.pf-m-error', { hasText: /wildcard/i }).waitFor();
    await b.screenshot('certificates-error');
    await field.fill('slm.acme.example');
    await page.getByRole('button', { name: 'Change Host Common Name' }).click();
    await page.getByTestId('hcn-current').getByText('slm.acme.example').waitFor();
    await page.getByText('CN=slm.acme.example').waitFor();
    await page.getByText('Synchronization required').waitFor();
    await checkPage('certificates');
    const ca = await page.evaluate(() => fetch('/api/v1/settings/ca-certificate').then((r) => r.text()));
    expect(ca).toBe(server.ca);
  }, 60_000);

  test('When an admin removes a product instance, then it is deregistered and its licenses are released', async () => {
    await openLicensing('instances');
    await page.getByRole('button', { name: 'Remove edge-router-7' }).click();
    await dialog().getByRole('button', { name: 'Remove' }).click();
    await page.getByRole('row', { name: /edge-router-7/ }).getByText('DEREGISTERED').waitFor();
    expect(await page.getByRole('button', { name: 'Remove edge-router-7' }).count()).toBe(0);
    await page.getByRole('tab', { name: 'Licenses' }).click();
    await page.getByRole('row', { name: /DNA_Advantage/ }).getByText('In Compliance').waitFor();
  }, 60_000);
});
