import { engineInstalled } from '../../src/ha/engine';
import { openConsoleBrowser, type ConsoleBrowser } from '../console-browser';
import { ADMIN_PASSWORD, ClusterHarness } from './cluster-harness';

const suite = engineInstalled() ? describe : describe.skip;

/**
 * The console's High Availability widget through the VIP, in a real browser, while the cluster
 * services stop on the Active node: the page is never reloaded, it keeps asking the same address.
 */
suite('HA cluster: the console widget through the VIP', () => {
  let h: ClusterHarness;
  let b: ConsoleBrowser | undefined;

  beforeAll(async () => {
    h = await ClusterHarness.create();
    await h.deployPair();
    b = await openConsoleBrowser();
  }, 300_000);

  afterAll(async () => {
    await b?.close();
    await h?.destroy(process.env.SLM_HA_KEEP === '1');
  }, 60_000);

  test('When ha_cluster_stop runs on the Active node, then the widget shows Normal, then Degraded with the other server Active, without a reload', async () => {
    const page = b!.page;
    await page.goto(h.vipUrl('/admin/ha'));
    await page.getByLabel(/^Username/).fill('admin');
    await page.getByLabel(/^Password/).fill(ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByTestId('ha-status').getByText('Normal').waitFor({ timeout: 30_000 });
    await page.getByTestId('ha-active-name').getByText('primary-node').waitFor();
    await page.getByTestId('ha-standby-name').getByText('secondary-node').waitFor();
    await b!.screenshot('high-availability-normal', true);
    expect(await b!.accessibilityViolations()).toEqual([]);
    // A mark that a reload would wipe.
    await page.evaluate(() => Object.assign(window, { slmNoReload: true }));

    await h.cliOk(h.p, ['ha_cluster_stop']);
    await page.getByTestId('ha-status').getByText('Degraded').waitFor({ timeout: 60_000 });
    await page.getByTestId('ha-active-name').getByText('secondary-node').waitFor({ timeout: 30_000 });
    await page.getByTestId('ha-reconnecting').waitFor({ state: 'detached', timeout: 30_000 });
    await page.getByText('One of the cluster nodes is offline').waitFor();
    await page.getByTestId('ha-heartbeat').getByText('Disconnected').waitFor({ timeout: 30_000 });
    await b!.screenshot('high-availability-degraded', true);
    expect(await page.evaluate(() => (window as unknown as { slmNoReload?: boolean }).slmNoReload)).toBe(true);
    expect(b!.cspViolations).toEqual([]);
  }, 180_000);
});
