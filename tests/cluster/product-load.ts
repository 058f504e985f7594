import { randomUUID } from 'node:crypto';
import { ProductSimulator } from '../../src/products/simulator';
import { generateProductKey } from '../../src/products/csr';
import type { ClusterHarness } from './cluster-harness';

const TRANSPORT = '/Transportgateway/services/DeviceRequestHandler';
export const LOAD_TAG = 'regid.ha-load.UCL';

export type Ack = { at: number; kind: 'register' | 'authorize'; udi: string; instanceId: string; count?: number };

/**
 * Simulated products that keep registering and reporting through the VIP, each retrying its
 * message (same jti) until answered, as a real product does across a failover. Only answered
 * messages count as acknowledged; those are what must survive.
 */
export class ProductLoad {
  readonly acks: Ack[] = [];
  readonly attempted = new Set<string>();
  private running = false;
  private workers: Promise<void>[] = [];

  constructor(private readonly h: ClusterHarness, private readonly token: string, private readonly concurrency = 2) {}

  start(): void {
    this.running = true;
    for (let i = 0; i < this.concurrency; i++) this.workers.push(this.worker(i));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
    this.workers = [];
  }

  private async worker(n: number): Promise<void> {
    while (this.running) {
      const udi = `SN-${n}-${randomUUID().slice(0, 8)}`;
      const sim = ProductSimulator.create({
        url: this.h.vipUrl(TRANSPORT),
        udi: { pid: 'LOAD', sn: udi },
        hostname: `load-${udi}`,
        productType: 'UCL',
        trustedCa: this.h.ca,
        privateKey: generateProductKey('ec'),
      });
      // Short waits so the first answer after a failover is seen at once; enough attempts to span it.
      sim.retry = { attempts: 400, baseDelayMs: 50, maxDelayMs: 100, timeoutMs: 3000 };
      this.attempted.add(udi);
      try {
        await sim.register(this.token);
        this.acks.push({ at: Date.now(), kind: 'register', udi, instanceId: sim.instanceId! });
        const count = 1 + Math.floor(Math.random() * 5);
        await sim.authorize([{ tag: LOAD_TAG, count }]);
        this.acks.push({ at: Date.now(), kind: 'authorize', udi, instanceId: sim.instanceId!, count });
      } catch {
        /* gave up: not acknowledged, so nothing is owed */
      }
    }
  }

  /** First acknowledged registration completed at or after `t` (ms), relative to `t`. */
  firstRegistrationAfter(t: number): number | undefined {
    const first = this.acks.filter((a) => a.kind === 'register' && a.at >= t).sort((a, b) => a.at - b.at)[0];
    return first ? first.at - t : undefined;
  }

  /**
   * After a fault at `at`: waits until registrations flow again (two within the last second, at
   * least two seconds after the fault) and returns the longest time without an acknowledged
   * registration since `at` (ms). An answer that was in flight at the fault does not end the gap.
   */
  async gapAfter(at: number, timeoutMs = 60_000): Promise<number> {
    await this.h.waitFor('registrations flowing again', async () => {
      const now = Date.now();
      return now - at > 2000 && this.acks.filter((a) => a.kind === 'register' && a.at > now - 1000).length >= 2;
    }, timeoutMs);
    return this.longestGap(at, Date.now());
  }

  /** Longest time without any acknowledged registration inside [from, to]. */
  longestGap(from: number, to: number): number {
    const times = [from, ...this.acks.filter((a) => a.kind === 'register' && a.at >= from && a.at <= to).map((a) => a.at), to].sort((a, b) => a - b);
    return Math.max(...times.slice(1).map((t, i) => t - times[i]));
  }

  /**
   * Compares what was acknowledged with what the Active node holds: every acknowledged instance
   * present once with its last acknowledged report, and the token used no more than the registrations attempted.
   */
  async verify(account: string, tokenId: string): Promise<{ lost: string[]; duplicates: string[]; wrongUsage: string[]; tokenUses: number; registered: number; attempted: number }> {
    const rows: { id: string; udi: { sn: string } }[] = [];
    for (let page = 1; ; page++) {
      const r = await this.h.request('GET', this.h.vipUrl(`/api/v1/accounts/${account}/virtual-accounts/Default/product-instances?page=${page}&pageSize=500`));
      if (r.status !== 200) throw new Error(`product instances: ${r.status} ${JSON.stringify(r.body)}`);
      rows.push(...r.body.productInstances);
      if (rows.length >= r.body.total || r.body.productInstances.length === 0) break;
    }
    const bySn = new Map<string, number>();
    for (const row of rows) bySn.set(row.udi.sn, (bySn.get(row.udi.sn) ?? 0) + 1);
    const registered = this.acks.filter((a) => a.kind === 'register');
    const lost = registered.filter((a) => !bySn.has(a.udi)).map((a) => a.udi);
    const duplicates = [...bySn].filter(([, c]) => c > 1).map(([sn]) => sn);
    const wrongUsage: string[] = [];
    for (const a of this.acks.filter((x) => x.kind === 'authorize')) {
      const detail = await this.h.request('GET', this.h.vipUrl(`/api/v1/product-instances/${a.instanceId}`));
      const usage = (detail.body.usage ?? []) as { tag: string; count: number }[];
      if (usage.find((u) => u.tag === LOAD_TAG)?.count !== a.count) wrongUsage.push(a.udi);
    }
    const tokens = await this.h.request('GET', this.h.vipUrl(`/api/v1/accounts/${account}/virtual-accounts/Default/tokens`));
    const token = (tokens.body.tokens as { id: string; uses: number }[]).find((t) => t.id === tokenId)!;
    return { lost, duplicates, wrongUsage, tokenUses: token.uses, registered: registered.length, attempted: this.attempted.size };
  }
}
