/**
 * npm run bench:failover [-- --rounds N] [--busy K] [--modes unplanned,server,hung,planned] [--profile fast|aggressive|fast+demote=750] [--trace]
 *
 * On a real supervised pair (monitor, two PostgreSQL nodes under pg_autoctl, two
 * `slm serve --supervised` processes, VIP 127.0.0.14), while simulated products keep registering
 * and reporting through the VIP, N rounds of each:
 *  - unplanned: kill -9 of the Active node (supervisor, server, keeper, postmaster); the node then
 *    rejoins as standby;
 *  - server: kill -9 of the Active node's server process only (its supervisor restarts it, or hands over);
 *  - hung: SIGSTOP of the Active node's server (the supervisor kills it after the hung limit);
 *  - planned: ha_cluster_stop on the Active node; it then starts again.
 * Figure per round: the longest time without an acknowledged registration through the VIP after the
 * fault. With --busy K, K CPU-bound processes run beside the cluster for the whole run. A profile
 * with overrides (`+key=ms`, see ha-bench.ts) is deployed as its base and then set on the monitor.
 * --trace prints, per unplanned round, the monitor's assignments and when the peer turned writable,
 * bound the VIP and acknowledged its first registration (ms after the kill).
 * Targets (medians): unplanned <= 5 s, server <= 3 s, hung <= 6 s, planned <= 2 s; 0 lost, 0 duplicated.
 */
import type { ClusterHarness, Node } from '../tests/cluster/cluster-harness';
import type { ProductLoad } from '../tests/cluster/product-load';
import { arg, formatTrace, median, onBenchPair, RoundTrace, secs, type Trace } from './ha-bench';

const ROUNDS = Number(arg('--rounds', '10'));
const BUSY = Number(arg('--busy', '0'));
const MODES = arg('--modes', 'unplanned,server,hung,planned').split(',') as Mode[];
const PROFILE = arg('--profile', 'fast');
const TRACE = process.argv.includes('--trace');
type Mode = 'unplanned' | 'server' | 'hung' | 'planned';
const TARGETS: Record<Mode, number> = { unplanned: 5, server: 3, hung: 6, planned: 2 };

/** Waits until both nodes are up again and the pair reports Normal. */
async function settle(h: ClusterHarness) {
  const active = await h.activeNode(90_000);
  await h.waitNormal(active, 120_000);
  await h.waitSparesReady(120_000);
}

async function round(h: ClusterHarness, load: ProductLoad, mode: Mode): Promise<{ gap: number; victim: Node; handedOver: boolean; trace?: Trace }> {
  const victim = await h.activeNode();
  const at = Date.now();
  const tracer = TRACE && mode === 'unplanned' ? new RoundTrace(h, h.peerOf(victim), at) : undefined;
  if (mode === 'unplanned') {
    h.crash(victim);
    await tracer?.victimLastReport(victim);
  }
  else if (mode === 'server') h.signalServer(victim, 'SIGKILL');
  else if (mode === 'hung') h.signalServer(victim, 'SIGSTOP');
  else await h.cliOk(victim, ['ha_cluster_stop']);
  const gap = await load.gapAfter(at, 120_000);
  const trace = await tracer?.finish(load);
  const handedOver = (await h.vipOwner()) !== (victim === h.p ? 'primary-node' : 'secondary-node');
  if (mode === 'unplanned') {
    await h.cliOk(victim, ['ha_cluster_start']);
    await h.startServer(victim);
  } else if (mode === 'planned') await h.cliOk(victim, ['ha_cluster_start']);
  await settle(h);
  return { gap, victim, handedOver, trace };
}

async function main() {
  await onBenchPair({ profile: PROFILE, busy: BUSY }, async ({ h, load, tokenId, timings }) => {
    const results: Partial<Record<Mode, number[]>> = {};
    const handovers: Partial<Record<Mode, number>> = {};
    for (const mode of MODES) {
      results[mode] = [];
      handovers[mode] = 0;
      for (let i = 0; i < ROUNDS; i++) {
        const r = await round(h, load, mode);
        results[mode]!.push(r.gap);
        if (r.handedOver) handovers[mode]!++;
        console.log(`${mode} ${i + 1}/${ROUNDS}: ${r.victim.name} -> longest registration gap ${secs(r.gap)} s${r.handedOver ? ' (peer took over)' : ' (same node serves again)'}`);
        if (r.trace) console.log(formatTrace(r.trace));
      }
    }

    await load.stop();
    const result = await load.verify('BENCH', tokenId);
    console.log(`\n=== failover benchmark (${ROUNDS} rounds each, ${BUSY} CPU-bound processes beside the cluster, failover profile ${PROFILE}: ${JSON.stringify(timings)}) ===`);
    for (const mode of MODES) {
      const xs = results[mode]!;
      console.log(`${mode.padEnd(9)} s: ${xs.map(secs).join(' ')}  median ${secs(median(xs))}  worst ${secs(Math.max(...xs))}  (target <= ${TARGETS[mode]}; peer took over in ${handovers[mode]} of ${xs.length})`);
    }
    console.log(`acknowledged registrations ${result.registered}, lost ${result.lost.length}, duplicated ${result.duplicates.length}, reports wrong ${result.wrongUsage.length}; token uses ${result.tokenUses} (attempted ${result.attempted})`);
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
