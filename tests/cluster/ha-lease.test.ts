import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { HaFiles } from '../../src/ha/cluster-config';
import { earliestPromotionMs } from '../../src/ha/cluster-state';
import { engineInstalled, FAILOVER_PROFILES, PgAutoctl } from '../../src/ha/engine';
import { PgLink } from '../../src/ha/monitor';
import { ClusterHarness } from './cluster-harness';

const installed = engineInstalled();
if (!installed) console.warn('\n!!!!!!!! pg_autoctl is NOT installed: the HA lease suite is SKIPPED !!!!!!!!\n');
const suite = installed ? describe : describe.skip;

/**
 * A primary cut off from the monitor (here: the monitor frozen with SIGSTOP) must not keep the VIP
 * longer than the monitor takes to promote its standby, unless its commits are synchronous (then a
 * cut-off primary cannot acknowledge anything once the standby is promoted).
 */
suite('HA cluster: the Active node\'s lease on the monitor\'s answer', () => {
  let h: ClusterHarness;
  let local: PgLink;
  const frozen: number[] = [];
  const monitorEngine = () => new PgAutoctl(new HaFiles(h.p.dataDir).engineRoot);
  const freezeMonitor = () => frozen.push(...monitorEngine().signalService(new HaFiles(h.p.dataDir).localMonitorPgdata, 'SIGSTOP'));
  const thawMonitor = () => {
    for (const pid of frozen.splice(0)) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        /* gone */
      }
    }
  };
  const syncNames = async () => (await local.query<{ s: string }>(`SELECT current_setting('synchronous_standby_names') AS s`))[0].s;

  beforeAll(async () => {
    h = await ClusterHarness.create();
  });
  afterAll(async () => {
    thawMonitor();
    await local?.close();
    await h?.destroy(process.env.SLM_HA_KEEP === '1');
  }, 60_000);

  test('When the monitor cannot be reached, then the Active node keeps the VIP while it commits synchronously, lets go of it before the demote timeout while it commits asynchronously, and takes it back when the monitor answers again', async () => {
    await h.deployPair();
    local = new PgLink(h.p.env.DATABASE_URL);
    expect(await syncNames()).not.toBe('');

    freezeMonitor();
    // Longer than the asynchronous lease: synchronous commits keep the VIP.
    const owners = new Set<string | undefined>();
    const until = Date.now() + earliestPromotionMs(FAILOVER_PROFILES.fast!) + 2000;
    while (Date.now() < until) {
      owners.add(await h.vipOwner());
      await sleep(250);
    }
    thawMonitor();
    expect([...owners]).toEqual(['primary-node']);

    // Without its standby the primary goes to wait_primary: asynchronous commits.
    await h.waitNormal(h.p, 60_000);
    h.crash(h.s);
    await h.waitFor('asynchronous commits on the primary', async () => (await syncNames()) === '', 60_000);
    await h.waitFor('the primary serving the VIP alone', async () => (await h.vipOwner()) === 'primary-node', 30_000);
    await sleep(1000);

    const frozenAt = Date.now();
    freezeMonitor();
    await h.waitFor('the VIP let go', async () => (await h.vipOwner()) === undefined, 10_000);
    // When the node turned Standby (no more writes from then on), from its log: the VIP poll above
    // is slower, as the status it asks for waits for the frozen monitor.
    const stepDown = readFileSync(h.p.log, 'utf8').split('\n').filter((l) => l.includes('no monitor answer within the lease'))
      .map((l) => (JSON.parse(l) as { time: number }).time).find((t) => t >= frozenAt);
    expect(stepDown).toBeDefined();
    const heldMs = stepDown! - frozenAt;
    console.log(`lease: asynchronous primary turned Standby ${(heldMs / 1000).toFixed(2)} s after the monitor froze`);
    // The lease ends 1.75 s after the last answer was asked for (at or before the freeze) and is
    // checked every 0.25 s; the monitor could not have made the standby writable before 2 s after
    // that answer plus the standby's own promotion (1.1-1.3 s measured).
    expect(heldMs).toBeLessThan(earliestPromotionMs(FAILOVER_PROFILES.fast!) + 500);
    expect((await h.status(h.p)).body.thisNodeRole).toBe('Standby');

    thawMonitor();
    await h.waitFor('the VIP back on the primary', async () => (await h.vipOwner()) === 'primary-node', 30_000);
  }, 240_000);
});
