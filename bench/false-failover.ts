/**
 * npm run bench:false-failover [-- --profiles fast,aggressive,fast+demote=750]
 *   [--stalls 500,1000,1500,2000] [--reps 5] [--busy K]
 *
 * The price of a fast profile: how often a primary that is only slow gets failed over. On a real
 * supervised pair (products registering through the VIP the whole time), per profile (set on the
 * monitor, reloadable) and stall length, `--reps` times: SIGSTOP of the primary node's keeper tree
 * and its postmaster with every backend (a VM pause, a node frozen by I/O or swap), SIGCONT after the
 * stall, then a look at the monitor's event table: did it start a failover (goal `draining` for the
 * stalled node)? A failed-over pair is let settle before the next stall. With --busy K, K CPU-bound
 * processes run beside the cluster for the whole run.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { HaFiles } from '../src/ha/cluster-config';
import { PgAutoctl } from '../src/ha/engine';
import { MonitorClient, type MonitorNode } from '../src/ha/monitor';
import { applyTimings, arg, monitorUri, onBenchPair, parseProfile, secs } from './ha-bench';

const PROFILES = arg('--profiles', 'fast,aggressive').split(',');
const STALLS = arg('--stalls', '500,1000,1500,2000').split(',').map(Number);
const REPS = Number(arg('--reps', '5'));
const BUSY = Number(arg('--busy', '0'));

const settled = (nodes: MonitorNode[]) =>
  nodes.length === 2 && nodes.every((n) => n.healthy && n.reportedState === n.goalState) &&
  nodes.some((n) => n.goalState === 'primary') && nodes.some((n) => n.goalState === 'secondary');

async function main() {
  const frozen = new Set<number>();
  const thaw = () => {
    for (const pid of frozen) process.kill(pid, 'SIGCONT');
  };
  await onBenchPair({ profile: 'fast', busy: BUSY, onInterrupt: thaw }, async ({ h }) => {
    const monitor = new MonitorClient(monitorUri(h));
    try {
      const table: string[] = [];
      for (const spec of PROFILES) {
        const { timings } = parseProfile(spec);
        await applyTimings(h, timings);
        const row: string[] = [];
        for (const stallMs of STALLS) {
          let failovers = 0;
          let unhealthy = 0;
          for (let r = 0; r < REPS; r++) {
            const nodes = await h.waitFor('a settled pair', async () => {
              const n = await monitor!.nodes();
              return settled(n) && n;
            }, 180_000);
            await h.activeNode(60_000);
            await sleep(1500);
            const primary = nodes.find((n) => n.goalState === 'primary')!;
            const victim = [h.p, h.s].find((n) => n.ip === primary.host)!;
            const engine = new PgAutoctl(new HaFiles(victim.dataDir).engineRoot);
            const at = Date.now();
            const pids = engine.signalService(victim.pgdata, 'SIGSTOP');
            for (const pid of pids) frozen.add(pid);
            await sleep(stallMs);
            for (const pid of pids) {
              try {
                process.kill(pid, 'SIGCONT');
              } catch {
                /* gone */
              }
              frozen.delete(pid);
            }
            // The monitor decides within unhealthy timeout + one health check of the stall's end.
            await sleep(timings.unhealthy + timings.period + timings.timeout + 2000);
            const events = (await monitor.events(40)).filter((e) => e.at.getTime() >= at);
            const failedOver = events.some((e) => e.nodeName === primary.name && e.goalState === 'draining');
            const markedUnhealthy = events.some((e) => e.nodeName === primary.name && /unhealthy/i.test(e.description));
            if (failedOver) failovers++;
            if (markedUnhealthy) unhealthy++;
            console.log(`${spec} stall ${secs(stallMs)} s #${r + 1}: ${primary.name} ${failedOver ? 'FAILED OVER' : markedUnhealthy ? 'marked unhealthy, kept primary' : 'kept primary'}`);
          }
          row.push(`${secs(stallMs)} s: ${failovers}/${REPS} failed over (${unhealthy} marked unhealthy)`);
        }
        table.push(`${spec.padEnd(24)} ${JSON.stringify(timings)}\n    ${row.join('; ')}`);
      }
      console.log(`\n=== false failovers: stalls of the primary node (keeper + postmaster + backends SIGSTOP), ${REPS} per length, ${BUSY} CPU-bound processes beside the cluster ===`);
      for (const line of table) console.log(line);
    } finally {
      await monitor.close();
    }
  });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
