/**
 * npm run bench:failover [-- --rounds N]
 *
 * On a real pair (monitor, two PostgreSQL nodes under pg_autoctl, two `slm serve` processes, VIP
 * 127.0.0.14), while simulated products keep registering and reporting through the VIP:
 *  - unplanned: kill -9 of the Active node (server, keeper, postmaster) -> first acknowledged
 *    registration through the VIP; the killed node then rejoins as standby;
 *  - planned: ha_cluster_stop on the Active node -> longest gap between acknowledged registrations;
 *    the node then starts again;
 *  - acknowledged registrations or reports missing afterwards (must be 0).
 * Targets: unplanned <= 5 s median, planned <= 2 s median, 0 lost.
 */
import { engineInstalled } from '../src/ha/engine';
import { ClusterHarness } from '../tests/cluster/cluster-harness';
import { ProductLoad } from '../tests/cluster/product-load';

const roundsArg = process.argv.indexOf('--rounds');
const ROUNDS = roundsArg > 0 ? Number(process.argv[roundsArg + 1]) : 10;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (xs: number[]) => xs.map((x) => (x / 1000).toFixed(2)).join(' ');

async function activeNode(h: ClusterHarness) {
  const owner = await h.waitFor('a VIP owner', () => h.vipOwner(), 60_000);
  return h.nodeNamed(owner);
}

/** Brings a stopped or crashed node back as standby and waits for Normal. */
async function rejoin(h: ClusterHarness, n: ReturnType<ClusterHarness['nodeNamed']>, crashed: boolean) {
  await h.cliOk(n, ['ha_cluster_start']);
  if (crashed) await h.startServer(n);
  await h.waitNormal(n === h.p ? h.s : h.p, 90_000);
}

async function main() {
  if (!engineInstalled()) {
    console.error('pg_autoctl is not installed: cannot run the failover benchmark');
    process.exit(2);
  }
  const h = await ClusterHarness.create();
  const stopAll = () => h.destroy().then(() => process.exit(1));
  process.once('SIGINT', stopAll);
  let load: ProductLoad | undefined;
  try {
    const t0 = Date.now();
    const fresh = await h.deployPair();
    console.log(`fresh cluster: deploy ${fresh.deploySeconds.toFixed(2)} s + provision ${fresh.provisionSeconds.toFixed(2)} s (total ${((Date.now() - t0) / 1000).toFixed(2)} s)`);
    await h.request('POST', h.vipUrl('/api/v1/accounts'), { name: 'BENCH' });
    await h.request('POST', h.vipUrl('/api/v1/accounts/BENCH/approve'), {});
    const token = await h.request('POST', h.vipUrl('/api/v1/accounts/BENCH/virtual-accounts/Default/tokens'), { description: 'bench', expiresInDays: 30, maxUses: 100000 });
    load = new ProductLoad(h, token.body.token, 2);
    load.start();
    await h.waitFor('load running', async () => load!.acks.length >= 4, 30_000);

    const unplanned: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const victim = await activeNode(h);
      const at = Date.now();
      h.crash(victim);
      const gap = await h.waitFor('a registration after the crash', async () => load!.firstRegistrationAfter(at), 90_000);
      unplanned.push(gap);
      console.log(`unplanned ${i + 1}/${ROUNDS}: ${victim.name} killed -> first registration through the VIP after ${(gap / 1000).toFixed(2)} s`);
      await rejoin(h, victim, true);
    }

    const planned: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const active = await activeNode(h);
      const from = Date.now();
      await h.cliOk(active, ['ha_cluster_stop']);
      await h.waitFor('the peer to hold the VIP', async () => (await h.vipOwner()) !== undefined && (await h.vipOwner()) !== (active === h.p ? 'primary-node' : 'secondary-node'), 60_000);
      await h.waitFor('a registration after the switchover', async () => load!.firstRegistrationAfter(Date.now() - 200) !== undefined, 30_000);
      const gap = load.longestGap(from, Date.now());
      planned.push(gap);
      console.log(`planned ${i + 1}/${ROUNDS}: ha_cluster_stop on ${active.name} -> longest registration gap ${(gap / 1000).toFixed(2)} s`);
      await rejoin(h, active, false);
    }

    await load.stop();
    const result = await load.verify('BENCH', token.body.id);
    console.log('\n=== failover benchmark ===');
    console.log(`unplanned (kill -9 -> first registration via VIP), s: ${fmt(unplanned)}  median ${(median(unplanned) / 1000).toFixed(2)} (target <= 5)`);
    console.log(`planned (ha_cluster_stop, longest gap), s: ${fmt(planned)}  median ${(median(planned) / 1000).toFixed(2)} (target <= 2)`);
    console.log(`acknowledged registrations ${result.registered}, lost ${result.lost.length}, duplicated ${result.duplicates.length}, reports wrong ${result.wrongUsage.length}; token uses ${result.tokenUses} (attempted ${result.attempted})`);
  } finally {
    await load?.stop();
    await h.destroy();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
