import { engineInstalled } from '../../src/ha/engine';
import { ClusterHarness, type Node } from './cluster-harness';
import { ProductLoad } from './product-load';

const installed = engineInstalled();
if (!installed) console.warn('\n!!!!!!!! pg_autoctl is NOT installed: the HA supervisor suite is SKIPPED !!!!!!!!\n');
const suite = installed ? describe : describe.skip;

/**
 * One supervised pair (`slm serve --supervised` on both nodes, a monitor made with
 * --ssl-self-signed and given by its sslmode=require URI) carries every scenario in order, with
 * products registering and reporting through the VIP the whole time.
 */
suite('HA cluster: supervised servers under load', () => {
  let h: ClusterHarness;
  let load: ProductLoad | undefined;
  let tokenId = '';
  const gaps: Record<string, string> = {};

  beforeAll(async () => {
    h = await ClusterHarness.create({ supervised: true });
  });
  afterAll(async () => {
    await load?.stop();
    console.log(`HA supervisor gaps: ${JSON.stringify(gaps)}`);
    await h?.destroy(process.env.SLM_HA_KEEP === '1');
  }, 60_000);

  /** Waits until products are served again after a fault at `at`; records and returns the gap (ms). */
  const gapAfter = async (what: string, at: number, timeoutMs = 60_000) => {
    const gap = await load!.gapAfter(at, timeoutMs);
    gaps[what] = `${(gap / 1000).toFixed(2)} s`;
    console.log(`${what}: longest time without an acknowledged registration through the VIP ${(gap / 1000).toFixed(2)} s`);
    return gap;
  };

  test('When a pair is deployed with the monitor URI pg_autoctl prints (sslmode=require, monitor made with --ssl-self-signed), then it forms, reports Normal and serves products', async () => {
    const uri = await h.createMonitor();
    expect(uri).toContain('sslmode=require');
    await h.deployPair({ monitorUri: uri });
    expect((await h.status(h.p)).body).toMatchObject({ status: 'Normal', thisNodeRole: 'Active' });
    expect((await h.request('POST', h.vipUrl('/api/v1/accounts'), { name: 'SUPER' })).status).toBe(201);
    expect((await h.request('POST', h.vipUrl('/api/v1/accounts/SUPER/approve'), {})).status).toBe(200);
    const token = await h.request('POST', h.vipUrl('/api/v1/accounts/SUPER/virtual-accounts/Default/tokens'), { description: 'supervised', expiresInDays: 30, maxUses: 100000 });
    expect(token.status).toBe(201);
    tokenId = token.body.id;
    load = new ProductLoad(h, token.body.token, 2);
    load.start();
    await h.waitFor('registrations', async () => load!.acks.length >= 4, 30_000);
    await h.waitSparesReady();
  }, 300_000);

  test('When only the Active node\'s server is killed -9, then its supervisor restarts it and products see a gap, then succeed', async () => {
    const active = await h.activeNode();
    const at = Date.now();
    const pid = h.signalServer(active, 'SIGKILL');
    const gap = await gapAfter('server-only kill -9', at);
    expect(gap).toBeLessThan(20_000);
    expect(h.serverPid(active)).not.toBe(pid);
    await h.waitFor('both servers answering', async () => (await roles()).filter((r) => r !== 0).length === 2, 60_000);
    await h.waitSparesReady();
  }, 120_000);

  test('When the Active node\'s server hangs (SIGSTOP), then it is killed, a healthy server serves the VIP again, and SIGCONT brings no second server back', async () => {
    const active = await h.activeNode();
    const at = Date.now();
    const pid = h.signalServer(active, 'SIGSTOP');
    const gap = await gapAfter('server SIGSTOP', at);
    expect(gap).toBeLessThan(30_000);
    await h.waitFor('the stopped server to be gone', async () => !alive(pid), 10_000);
    expect(() => process.kill(pid, 'SIGCONT')).toThrow();
    // Exactly one node answers as Active, and the VIP answers for it.
    const answer = await h.waitFor('one Active node', async () => {
      const r = await roles();
      return r.filter((x) => x === 200).length === 1 && r;
    }, 60_000);
    expect(answer.filter((x) => x === 200)).toHaveLength(1);
    expect(await h.vipOwner()).toBe(answer[0] === 200 ? 'primary-node' : 'secondary-node');
    await h.waitFor('both servers answering', async () => (await roles()).filter((r) => r !== 0).length === 2, 60_000);
    await h.waitSparesReady();
  }, 120_000);

  test('When the Active node\'s server cannot start (a broken configuration on that node only), then its supervisor hands the cluster to the peer', async () => {
    const active = await h.activeNode();
    const peer = h.peerOf(active);
    await h.waitNormal(peer, 90_000);
    await h.killServerGroup(active);
    const at = Date.now();
    active.env.SLM_BODY_LIMIT = 'unlimited';
    h.launch(active);
    await h.waitFor('the peer to hold the VIP', async () => (await h.vipOwner()) === nameOf(peer), 90_000);
    await gapAfter('server cannot start', at, 30_000);
    // Fixed configuration: the node comes back as the Standby, the pair is Normal again.
    await h.killServerGroup(active);
    delete active.env.SLM_BODY_LIMIT;
    await h.startServer(active);
    const st = await h.waitNormal(peer, 90_000);
    expect(st).toMatchObject({ thisNode: nameOf(peer), thisNodeRole: 'Active', standbyServer: { name: nameOf(active) } });
  }, 240_000);

  test('When products registered and reported through all of it, then nothing acknowledged is lost or duplicated and the token counts each registration once', async () => {
    await load!.stop();
    const result = await load!.verify('SUPER', tokenId);
    console.log(`supervised pair: acknowledged registrations ${result.registered}, token uses ${result.tokenUses}, attempted ${result.attempted}`);
    expect(result.lost).toEqual([]);
    expect(result.duplicates).toEqual([]);
    expect(result.wrongUsage).toEqual([]);
    expect(result.registered).toBeGreaterThan(10);
    expect(result.tokenUses).toBeGreaterThanOrEqual(result.registered);
    expect(result.tokenUses).toBeLessThanOrEqual(result.attempted);
  }, 240_000);

  const nameOf = (n: Node) => (n === h.p ? 'primary-node' : 'secondary-node');
  /** /ha/role status on each node's own address (0: no answer). */
  const roles = async () =>
    Promise.all([h.p, h.s].map(async (n) => (await h.request('GET', h.nodeUrl(n, '/ha/role'), undefined, '', 2000).catch(() => undefined))?.status ?? 0));
});

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
