import { copyFileSync, readdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { engineInstalled } from '../../src/ha/engine';
import { HaFiles } from '../../src/ha/cluster-config';
import { ProductSimulator } from '../../src/products/simulator';
import { ReferenceUpstream } from '../../src/sync/reference-upstream';
import { upstreamEnv } from '../support/sync-server';
import { freePort } from '../support/postgres';
import { ClusterHarness, VIP } from './cluster-harness';

const TRANSPORT = '/Transportgateway/services/DeviceRequestHandler';
const installed = engineInstalled();
if (!installed) {
  // Loud on purpose: a skipped cluster suite must not pass unnoticed.
  console.warn('\n!!!!!!!! pg_autoctl is NOT installed: the HA cluster suite is SKIPPED (apt-get install postgresql-15-auto-failover pg-auto-failover-cli) !!!!!!!!\n');
}
const suite = installed ? describe : describe.skip;

/**
 * The reference scenarios (product.md) in order, on real processes: a monitor, two PostgreSQL
 * nodes under pg_autoctl, two `slm serve` processes, the VIP 127.0.0.14 (bind driver).
 */
suite('HA cluster: the reference scenarios in order', () => {
  let h: ClusterHarness;
  const timings: Record<string, number> = {};
  const products: ProductSimulator[] = [];
  let tokenValue = '';

  const product = (name: string) => {
    const sim = ProductSimulator.create({
      url: h.vipUrl(TRANSPORT),
      udi: { pid: 'CUCM-HA', sn: `SN-${name}-${randomUUID().slice(0, 6)}` },
      hostname: name,
      productType: 'UCL',
      trustedCa: h.ca,
    });
    sim.retry = { attempts: 12, baseDelayMs: 250, maxDelayMs: 2000, timeoutMs: 5000 };
    products.push(sim);
    return sim;
  };
  const registerAndReport = async (name: string) => {
    const sim = product(name);
    await sim.register(tokenValue);
    await sim.authorize([{ tag: 'regid.ha-test.UCL', count: 2 }]);
    return sim;
  };
  const health = async (n: ClusterHarness['p']) => (await h.status(n)).body;

  let upstream: { url: string; close(): Promise<void> } | undefined;
  let vendor: ReferenceUpstream;

  beforeAll(async () => {
    h = await ClusterHarness.create();
    // The vendor cloud: approves TEST and sells it licenses, for the sync from the secondary.
    vendor = new ReferenceUpstream({
      smartAccounts: [{ name: 'test.example.com', approve: ['TEST'], virtualAccounts: [{ name: 'Default', licenses: [{ tag: 'regid.ha-test.UCL', displayName: 'HA test', billingType: 'PERPETUAL', quantity: 10 }] }] }],
    });
    upstream = await vendor.listen(await freePort());
    for (const n of [h.p, h.s]) Object.assign(n.env, { ...upstreamEnv(vendor, upstream.url), SLM_SYNC_INTERVAL_SECONDS: '0' });
  }, 30_000);

  afterAll(async () => {
    await upstream?.close();
    if (h) {
      h.note(JSON.stringify(timings));
      await h.destroy(process.env.SLM_HA_KEEP === '1');
    }
    console.log(`HA cluster timings (s): ${JSON.stringify(timings)}`);
  }, 60_000);

  test('When a stand-alone primary is deployed and a standby provisioned, then the primary is Active, the standby Standby, heartbeat Connected, status Normal and replication streaming', async () => {
    // Data from before HA must survive the conversion and reach the standby: created on the stand-alone primary.
    h.startStandalonePostgres();
    await h.startServer(h.p);
    await h.login(h.nodeUrl(h.p, '/api/v1/auth/login'));
    expect((await h.request('POST', h.nodeUrl(h.p, '/api/v1/accounts'), { name: 'BEFORE' })).status).toBe(201);
    expect((await h.request('POST', h.nodeUrl(h.p, '/api/v1/accounts/BEFORE/approve'), {})).status).toBe(200);
    await h.stopServer(h.p);

    // Wrong order first: deploy without keys, provision before deploy.
    const noKeys = await h.cli(h.p, ['ha_deploy', '--vip', VIP, '--primary-address', h.p.ip, '--secondary-address', h.s.ip, '--pgdata', h.p.pgdata, '--monitor-port', String(h.ports.monitor)]);
    expect(noKeys.stderr).toContain('HA_KEYS_MISSING');
    await h.cliOk(h.p, ['ha', 'generatekeys']);
    expect((await h.cli(h.p, ['ha', 'generatekeys'])).stderr).toContain('HA_KEYS_EXIST');
    const keys = path.join(h.base, 'keys-copy.json');
    copyFileSync(new HaFiles(h.p.dataDir).keysFile, keys);
    await h.cliOk(h.s, ['ha_generatekeys', '--import', keys]);
    const early = await h.cli(h.s, ['ha_provision_standby', '--primary', h.p.ip, '--heartbeat-port', String(h.ports.heartbeat), '--pgdata', h.s.pgdata]);
    expect(early.stderr).toContain('HA_PRIMARY_NOT_DEPLOYED');
    const busy = net.createServer().listen(h.ports.https, VIP);
    const vipBusy = await h.cli(h.p, ['ha_deploy', '--vip', VIP, '--primary-address', h.p.ip, '--secondary-address', h.s.ip, '--pgdata', h.p.pgdata, '--monitor-port', String(h.ports.monitor)]);
    busy.close();
    expect(vipBusy.stderr).toContain('VIP_IN_USE');
    expect((await h.cli(h.p, ['ha_deploy', '--vip', '10.254.254.254', '--primary-address', h.p.ip, '--secondary-address', h.s.ip, '--pgdata', h.p.pgdata, '--monitor-port', String(h.ports.monitor)])).stderr).toContain('VIP_NOT_LOCAL');
    expect((await h.cliOk(h.p, ['ha_status'])).trim()).toBe('HA is not enabled.');
    // A monitor that refuses connections is reported at once, not after a long wait.
    const t1 = Date.now();
    const monitorRefused = await h.cli(h.p, ['ha_deploy', '--vip', VIP, '--primary-address', h.p.ip, '--secondary-address', h.s.ip, '--pgdata', h.p.pgdata,
      '--monitor', `postgres://autoctl_node@127.0.0.1:${await freePort()}/pg_auto_failover?sslmode=require`]);
    expect(monitorRefused.stderr).toContain('HA_MONITOR_UNREACHABLE');
    expect(Date.now() - t1).toBeLessThan(15_000);

    let t0 = Date.now();
    await h.cliOk(h.p, ['ha_deploy', '--vip', VIP, '--primary-address', h.p.ip, '--secondary-address', h.s.ip,
      '--heartbeat-port', String(h.ports.heartbeat), '--pgdata', h.p.pgdata, '--monitor-port', String(h.ports.monitor)]);
    await h.startServer(h.p);
    await h.waitFor('the primary to hold the VIP', async () => (await h.vipOwner()) === 'primary-node');
    timings.deployPrimary = (Date.now() - t0) / 1000;

    t0 = Date.now();
    await h.cliOk(h.s, ['ha', 'provision-standby', '--primary', h.p.ip, '--heartbeat-port', String(h.ports.heartbeat), '--pgdata', h.s.pgdata]);
    await h.startServer(h.s);
    const normal = await h.waitNormal(h.p);
    timings.provisionStandby = (Date.now() - t0) / 1000;
    timings.freshCluster = timings.deployPrimary + timings.provisionStandby;

    expect(normal).toMatchObject({
      enabled: true, heartbeat: 'Connected', thisNode: 'primary-node', thisNodeRole: 'Active',
      vip: { address: VIP, heldByThisNode: true, driver: 'bind' },
      activeServer: { name: 'primary-node', role: 'Active', publicAddress: h.p.ip },
      standbyServer: { name: 'secondary-node', role: 'Standby', publicAddress: h.s.ip },
    });
    expect(normal.replication.standbys[0]).toMatchObject({ state: 'streaming' });
    expect(normal.standbyServer.system.version).toMatch(/\d+\.\d+\.\d+/);
    expect((await h.request('GET', h.nodeUrl(h.p, '/ha/role'), undefined, '')).status).toBe(200);

    const standby = await h.waitFor('standby status', async () => {
      const st = await health(h.s);
      return st.heartbeat === 'Connected' && st;
    });
    expect(standby).toMatchObject({ thisNodeRole: 'Standby', vip: { heldByThisNode: false }, replication: { receiverStatus: 'streaming' } });
    expect(standby.replication.replayLsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    const role = await h.request('GET', h.nodeUrl(h.s, '/ha/role'), undefined, '');
    expect(role).toMatchObject({ status: 503, body: { role: 'standby', vip: VIP } });
    const refused = await h.request('POST', h.nodeUrl(h.s, TRANSPORT), { message: 'x' });
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('NOT_ACTIVE_NODE');
    expect(refused.body.error.message).toContain(VIP);
    expect(refused.headers['retry-after']).toBeDefined();
    expect((await h.request('GET', h.nodeUrl(h.s, '/api/v1/system/info'))).body.version).toBeDefined();

    const primaryText = await h.cliOk(h.p, ['ha_status']);
    expect(primaryText).toContain('Cluster Status: Normal');
    expect(primaryText).toContain('This node: primary-node (Active), holds the VIP');
    expect(primaryText).toContain('Peer: secondary-node (Standby) at 127.0.0.9');
    expect(primaryText).toMatch(/Heartbeat: Connected/);
    expect(primaryText).toContain('Replication: streaming');
    expect(primaryText).toContain('Database is currently the replication master - Replicating to secondary-node (127.0.0.9)');
    expect(primaryText).toMatch(/\n127\.0\.0\.\d+ \| .* \| streaming \| /);
    const standbyText = await h.cliOk(h.s, ['ha', 'status']);
    expect(standbyText).toContain('Database is currently the replication slave - Replicating from primary-node (127.0.0.11)');
    expect(standbyText).toMatch(/pg_last_wal_replay_lsn\n-----\n[0-9A-F]+\/[0-9A-F]+\n\(1 row\)/);

    // Products registered through the VIP before any failover (scenario 5, first part).
    const token = await h.request('POST', h.vipUrl('/api/v1/accounts/BEFORE/virtual-accounts/Default/tokens'), { description: 'ha', expiresInDays: 30, maxUses: 50 });
    expect(token.status).toBe(201);
    tokenValue = token.body.token;
    await registerAndReport('before-1');
    await registerAndReport('before-2');
  }, 240_000);

  test('When the cluster services stop on the primary, then the secondary is Active behind the VIP, Degraded, Disconnected, synchronization works there and TEST is created and activated', async () => {
    const t0 = Date.now();
    const out = await h.cliOk(h.p, ['ha_cluster_stop']);
    expect(out).toContain('planned switchover');
    await h.waitFor('the secondary to hold the VIP', async () => (await h.vipOwner()) === 'secondary-node');
    timings.plannedStopToVip = (Date.now() - t0) / 1000;
    const st = await h.waitFor('Degraded on the secondary', async () => {
      const s = (await h.request('GET', h.vipUrl('/api/v1/ha/status'))).body;
      return s.status === 'Degraded' && s.heartbeat === 'Disconnected' && s;
    }, 30_000);
    expect(st).toMatchObject({ thisNode: 'secondary-node', thisNodeRole: 'Active', message: 'The cluster is degraded. One of the cluster nodes is offline' });
    const stopped = await h.cli(h.p, ['ha_status']);
    expect(stopped.code).toBe(1);
    expect(stopped.stderr).toContain('HA_NOT_RUNNING: cluster is not currently running on this node');
    expect((await h.request('GET', h.nodeUrl(h.s, '/ha/role'), undefined, '')).status).toBe(200);

    // TEST is requested on the secondary and activated by a synchronization run from there.
    expect((await h.request('POST', h.vipUrl('/api/v1/accounts'), { name: 'TEST' })).status).toBe(201);
    // The vendor key, installed on the node now Active, reaches both through the replicated settings.
    expect((await h.request('PUT', h.vipUrl('/api/v1/sync/upstream-key'), { pem: vendor.signingPublicKeyPem })).status).toBe(200);
    const sync = await h.request('POST', h.vipUrl('/api/v1/sync'));
    expect(sync.status).toBe(200);
    expect(sync.body.summary.accountsApproved).toContain('TEST');
    expect((await h.request('GET', h.vipUrl('/api/v1/accounts/TEST'))).body).toMatchObject({ status: 'ACTIVE' });
    // Products registering during the failover, through the VIP, to the secondary.
    await registerAndReport('during-1');
    for (const sim of products.slice(0, 2)) await sim.authorize([{ tag: 'regid.ha-test.UCL', count: 3 }]);
  }, 120_000);

  test('When the cluster services start again on the primary, then it rejoins as Standby replicating from the secondary, and status is Normal', async () => {
    const t0 = Date.now();
    await h.cliOk(h.p, ['ha_cluster_start']);
    const st = await h.waitFor('Normal on the secondary', async () => {
      const s = (await h.request('GET', h.vipUrl('/api/v1/ha/status'))).body;
      return s.status === 'Normal' && s;
    });
    timings.rejoinAsStandby = (Date.now() - t0) / 1000;
    expect(st).toMatchObject({ thisNode: 'secondary-node', heartbeat: 'Connected', activeServer: { name: 'secondary-node' }, standbyServer: { name: 'primary-node', role: 'Standby' } });
    expect(st.replication.standbys[0].state).toBe('streaming');
    expect(await h.cliOk(h.p, ['ha_status'])).toContain('replication slave - Replicating from secondary-node (127.0.0.9)');
  }, 120_000);

  test('When the secondary stops (fallback), then the primary is Active again with TEST and every product, and the secondary rejoins as Standby', async () => {
    let t0 = Date.now();
    await h.cliOk(h.s, ['ha_cluster_stop']);
    await h.waitFor('the primary to hold the VIP', async () => (await h.vipOwner()) === 'primary-node');
    timings.fallbackStopToVip = (Date.now() - t0) / 1000;
    const test = await h.request('GET', h.vipUrl('/api/v1/accounts/TEST'));
    expect(test.status).toBe(200);
    expect(test.body.status).toBe('ACTIVE');
    await registerAndReport('after-1');

    t0 = Date.now();
    await h.cliOk(h.s, ['ha_cluster_start']);
    const st = await h.waitFor('Normal on the primary', async () => {
      const s = await health(h.p);
      return s.status === 'Normal' && s;
    });
    timings.secondaryRejoin = (Date.now() - t0) / 1000;
    expect(st).toMatchObject({ thisNode: 'primary-node', thisNodeRole: 'Active', standbyServer: { name: 'secondary-node' } });
    expect(await h.cliOk(h.s, ['ha_status'])).toContain('replication slave - Replicating from primary-node (127.0.0.11)');

    // Scenario 5: products from before, during and after are all there, with their usage counted.
    for (const sim of products) await sim.authorize([{ tag: 'regid.ha-test.UCL', count: 1 }]);
    const instances = await h.request('GET', h.vipUrl('/api/v1/accounts/BEFORE/virtual-accounts/Default/product-instances'));
    expect(instances.status).toBe(200);
    const names = JSON.stringify(instances.body);
    for (const name of ['before-1', 'before-2', 'during-1', 'after-1']) expect(names).toContain(name);
    const licenses = await h.request('GET', h.vipUrl('/api/v1/accounts/BEFORE/licenses'));
    expect(JSON.stringify(licenses.body)).toMatch(/regid\.ha-test\.UCL/);
  }, 180_000);

  test('When a wrong-order command is run, then it fails with a stable code', async () => {
    const again = await h.cli(h.p, ['ha_deploy', '--vip', VIP, '--primary-address', h.p.ip, '--secondary-address', h.s.ip, '--pgdata', h.p.pgdata, '--monitor-port', String(h.ports.monitor)]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('HA_ALREADY_DEPLOYED');
    expect((await h.cli(h.p, ['ha_cluster_start'])).stderr).toContain('HA_ALREADY_RUNNING');
    const cancelled = await h.cli(h.s, ['ha_teardown'], 'no\n');
    expect(cancelled.stderr).toContain('HA_TEARDOWN_CANCELLED');
    expect(cancelled.stdout).toContain('is the Standby');
    expect(cancelled.stdout).not.toContain('releases the VIP');
    expect(new HaFiles(h.s.dataDir).readCluster()).toBeDefined();
  }, 60_000);

  test('When each node is torn down after a typed yes, then both are stand-alone servers with their data and ha_status says HA is not enabled.', async () => {
    await h.cliOk(h.s, ['ha_teardown'], 'yes\n');
    await h.cliOk(h.p, ['ha', 'teardown'], 'yes\n');
    for (const n of [h.p, h.s]) {
      expect((await h.cliOk(n, ['ha_status'])).trim()).toBe('HA is not enabled.');
      const st = await h.waitFor(`${n.name} stand-alone`, async () => {
        const r = await h.request('GET', h.nodeUrl(n, '/api/v1/ha/status'));
        return r.status === 200 && r.body.enabled === false && r;
      }, 30_000);
      expect(st.body).toMatchObject({ enabled: false, syncPaused: { reason: expect.stringContaining('HA teardown') } });
      const test = await h.request('GET', h.nodeUrl(n, '/api/v1/accounts/TEST'));
      expect(test.status).toBe(200);
      // Each is writable on its own now.
      expect((await h.request('POST', h.nodeUrl(n, '/api/v1/accounts'), { name: `AFTER-${n.name}` })).status).toBe(201);
    }
    await h.waitFor('the VIP to be released', async () => (await h.vipOwner()) === undefined, 15_000);

    // Both copies hold the same accounts: neither synchronizes until an admin keeps one.
    for (const n of [h.p, h.s]) {
      expect((await h.status(n)).body.syncPaused.reason).toContain('teardown');
      const sync = await h.request('POST', h.nodeUrl(n, '/api/v1/sync'));
      expect(sync.status).toBe(409);
      expect(sync.body.error.code).toBe('SYNC_PAUSED');
    }
    await h.cliOk(h.p, ['ha', 'keep-this-node'], 'yes\n');
    await h.waitFor('the pause lifted on the primary', async () => (await h.status(h.p)).body.syncPaused === undefined, 10_000);
    expect((await h.status(h.s)).body.syncPaused).toBeDefined();

    // The documented next step, from the CLI: the certificate still names the VIP, the chain is checked.
    const hcn = await h.cli(h.p, ['hcn', 'set', h.p.ip, '--url', h.nodeUrl(h.p, ''), '--servername', VIP]);
    expect(hcn.stderr + hcn.stdout).not.toContain('altnames');
    expect(hcn.code).toBe(0);
    expect(hcn.stdout).toContain(h.p.ip);
    const wrongName = await h.cli(h.p, ['hcn', 'show', '--url', h.nodeUrl(h.p, ''), '--servername', 'not-this.example']);
    expect(wrongName.code).not.toBe(0);
  }, 120_000);

  test('When the pair is formed again after teardown, from the CLI only, then leftovers are named, cleaned with --clean, and the pair is Normal with the primary\'s data', async () => {
    for (const n of [h.p, h.s]) await h.stopServer(n);
    const deployArgs = ['ha_deploy', '--vip', VIP, '--primary-address', h.p.ip, '--secondary-address', h.s.ip,
      '--heartbeat-port', String(h.ports.heartbeat), '--pgdata', h.p.pgdata, '--monitor-port', String(h.ports.monitor)];
    const blocked = await h.cli(h.p, deployArgs);
    expect(blocked.code).toBe(1);
    expect(blocked.stderr).toContain('HA_LEFTOVERS_FOUND');
    expect(blocked.stderr).toContain('--clean');
    await h.cliOk(h.p, [...deployArgs, '--clean']);
    await h.startServer(h.p);
    await h.waitFor('the primary to hold the VIP', async () => (await h.vipOwner()) === 'primary-node', 60_000);

    const provision = ['ha', 'provision-standby', '--primary', h.p.ip, '--heartbeat-port', String(h.ports.heartbeat), '--pgdata', h.s.pgdata];
    const left = await h.cli(h.s, provision);
    expect(left.code).toBe(1);
    expect(left.stderr).toContain(`${h.s.pgdata} holds a database`);
    expect(left.stderr).toContain('pg_ctl stop');
    await h.cliOk(h.s, [...provision, '--clean']);
    await h.startServer(h.s);
    const st = await h.waitNormal(h.p, 90_000);
    expect(st).toMatchObject({ thisNode: 'primary-node', thisNodeRole: 'Active', standbyServer: { name: 'secondary-node' } });
    // The secondary is a new clone of the primary: what it wrote alone after teardown is gone, and its old copy was kept aside.
    expect((await h.request('GET', h.vipUrl('/api/v1/accounts/AFTER-primary'))).status).toBe(200);
    expect((await h.request('GET', h.vipUrl('/api/v1/accounts/AFTER-secondary'))).status).toBe(404);
    expect(readdirSync(path.dirname(h.s.pgdata)).some((f) => f.startsWith('pgdata.before-ha-'))).toBe(true);
    for (const n of [h.p, h.s]) expect((await h.status(n)).body.syncPaused).toBeUndefined();
  }, 300_000);
});
