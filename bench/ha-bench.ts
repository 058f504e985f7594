import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { HaFiles } from '../src/ha/cluster-config';
import { engineInstalled, FAILOVER_PROFILES, failoverProfileSql, type FailoverProfile, type FailoverTimings } from '../src/ha/engine';
import { MonitorClient, PgLink, runAsMonitorSuperuser } from '../src/ha/monitor';
import { ClusterHarness, type Node } from '../tests/cluster/cluster-harness';
import { ProductLoad } from '../tests/cluster/product-load';

/** What the failover benchmarks share: timing profiles given on the command line, the monitor's view, round traces. */

export const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
export const secs = (ms: number) => (ms / 1000).toFixed(2);

/**
 * A profile as given on the command line: a name from FAILOVER_PROFILES, optionally with
 * overrides, e.g. `fast+demote=750+unhealthy=2500` (a candidate measured before it is named).
 */
export function parseProfile(spec: string): { base: FailoverProfile; timings: FailoverTimings } {
  const [name, ...overrides] = spec.split('+');
  const timings = FAILOVER_PROFILES[name as FailoverProfile];
  if (!timings) throw new Error(`profile ${name}: one of ${Object.keys(FAILOVER_PROFILES).filter((k) => FAILOVER_PROFILES[k as FailoverProfile]).join(', ')}`);
  const out = { ...timings };
  for (const o of overrides) {
    const [k, v] = o.split('=');
    if (!(k in out) || !/^\d+$/.test(v ?? '')) throw new Error(`bad override ${o}: key=ms with key in ${Object.keys(out).join(', ')}`);
    out[k as keyof FailoverTimings] = Number(v);
  }
  return { base: name as FailoverProfile, timings: out };
}

export function monitorUri(h: ClusterHarness): string {
  return new HaFiles(h.p.dataDir).readCluster()!.monitor.uri;
}

/** Sets the monitor's timing GUCs on a running pair (they are reloadable). */
export async function applyTimings(h: ClusterHarness, timings: FailoverTimings): Promise<void> {
  await runAsMonitorSuperuser(monitorUri(h), failoverProfileSql(timings));
}

export type BenchPair = { h: ClusterHarness; load: ProductLoad; tokenId: string; timings: FailoverTimings };

/**
 * Runs `body` on a fresh supervised pair deployed with `profile`, with `busy` CPU-bound processes
 * beside it for the whole run and simulated products registering and reporting through the VIP
 * (account BENCH); stops everything afterwards, also on Ctrl-C (after `onInterrupt`).
 */
export async function onBenchPair(o: { profile: string; busy: number; onInterrupt?: () => void }, body: (pair: BenchPair) => Promise<void>): Promise<void> {
  if (!engineInstalled()) {
    console.error('pg_autoctl is not installed: cannot run this benchmark');
    process.exit(2);
  }
  const profile = parseProfile(o.profile);
  const burners: ChildProcess[] = [];
  for (let i = 0; i < o.busy; i++) burners.push(spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
  const h = await ClusterHarness.create({ supervised: true });
  process.once('SIGINT', () => {
    o.onInterrupt?.();
    for (const b of burners) b.kill('SIGKILL');
    void h.destroy().then(() => process.exit(1));
  });
  let load: ProductLoad | undefined;
  try {
    const t0 = Date.now();
    const fresh = await h.deployPair({ failoverProfile: profile.base });
    if (o.profile !== profile.base) await applyTimings(h, profile.timings);
    console.log(`fresh cluster: deploy ${fresh.deploySeconds.toFixed(2)} s + provision ${fresh.provisionSeconds.toFixed(2)} s (total ${secs(Date.now() - t0)} s); ${o.busy} CPU-bound processes beside it`);
    await h.request('POST', h.vipUrl('/api/v1/accounts'), { name: 'BENCH' });
    await h.request('POST', h.vipUrl('/api/v1/accounts/BENCH/approve'), {});
    const token = await h.request('POST', h.vipUrl('/api/v1/accounts/BENCH/virtual-accounts/Default/tokens'), { description: 'bench', expiresInDays: 30, maxUses: 100000 });
    load = new ProductLoad(h, token.body.token, 2);
    load.start();
    await h.waitFor('load running', async () => load!.acks.length >= 4, 30_000);
    await body({ h, load, tokenId: token.body.id, timings: profile.timings });
  } finally {
    await load?.stop();
    for (const b of burners) b.kill('SIGKILL');
    await h.destroy();
  }
}

/** Times of one unplanned failover, in ms after the kill. */
export type Trace = { lastReport?: number; events: string[]; writable?: number; vipBound?: number; firstAck?: number };

/**
 * Follows one unplanned round from the kill at `at`: when the peer's PostgreSQL turns writable
 * (polled every 25 ms), which states the monitor assigned and when (its event table), when the
 * peer's server logged the VIP bind, and the first acknowledged registration.
 */
export class RoundTrace {
  private writable?: number;
  private done = false;
  private readonly polling: Promise<void>;
  private readonly monitor: MonitorClient;
  private lastReport?: number;

  constructor(h: ClusterHarness, private readonly peer: Node, private readonly at: number) {
    this.monitor = new MonitorClient(monitorUri(h));
    this.polling = this.pollWritable();
  }

  /** Records the victim's last keeper report as the monitor saw it (call right after the kill). */
  async victimLastReport(victim: Node): Promise<void> {
    const nodes = await this.monitor.nodes().catch(() => []);
    const me = nodes.find((n) => n.host === victim.ip);
    if (me?.reportTime) this.lastReport = me.reportTime.getTime() - this.at;
  }

  private async pollWritable() {
    const link = new PgLink(this.peer.env.DATABASE_URL, 500);
    try {
      while (!this.done && Date.now() - this.at < 60_000) {
        const rows = await link.query<{ w: boolean }>(`SELECT NOT (pg_is_in_recovery() OR current_setting('default_transaction_read_only')::bool) AS w`).catch(() => []);
        if (rows[0]?.w) {
          this.writable = Date.now() - this.at;
          return;
        }
        await sleep(25);
      }
    } finally {
      await link.close();
    }
  }

  async finish(load: ProductLoad): Promise<Trace> {
    this.done = true;
    await this.polling;
    const events = (await this.monitor.events(40).catch(() => []))
      .filter((e) => e.at.getTime() >= this.at)
      .reverse()
      .map((e) => `+${secs(e.at.getTime() - this.at)} ${e.nodeName} ${e.reportedState}->${e.goalState}`);
    await this.monitor.close();
    return { lastReport: this.lastReport, events, writable: this.writable, vipBound: this.vipBoundAt(), firstAck: load.firstRegistrationAfter(this.at) };
  }

  private vipBoundAt(): number | undefined {
    for (const line of readFileSync(this.peer.log, 'utf8').split('\n')) {
      if (!line.includes('ha: VIP acquired')) continue;
      const time = (JSON.parse(line) as { time?: number }).time;
      if (time && time >= this.at) return time - this.at;
    }
    return undefined;
  }
}

export function formatTrace(t: Trace): string {
  const s = (v?: number) => (v === undefined ? '?' : secs(v));
  return `  victim's last report ${s(t.lastReport)} s; peer writable +${s(t.writable)}; VIP bound +${s(t.vipBound)}; first ack +${s(t.firstAck)}\n  monitor: ${t.events.join(', ')}`;
}
