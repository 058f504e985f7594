import { Gauge, Histogram, Counter, Registry, collectDefaultMetrics } from 'prom-client';
import type { Clock } from '../clock';
import type { Db } from '../store/database';
import type { HaView } from '../ha/ha-view';
import type { LicenseService } from '../licenses/license-service';
import type { SyncService } from '../sync/sync-service';
import type { SettingsStore } from '../config/settings-store';
import { collectState, type ServerState } from './server-state';

/** What the scrape-time collectors read; every source is queried at most once per STATE_TTL_MS. */
export type MetricSources = {
  db: Db;
  clock: Clock;
  licenses: Pick<LicenseService, 'accountLicenses' | 'accountAlerts'>;
  sync: Pick<SyncService, 'status'>;
  settings: Pick<SettingsStore, 'get'>;
  ha: HaView;
  pool?: { totalCount: number; idleCount: number; waitingCount: number };
  poolMax: number;
  maxAccounts: number;
};

/** Compliance and alerts read every account: a scrape every few seconds must not repeat that work. */
const STATE_TTL_MS = 15_000;
const MESSAGE_TYPES = new Set(['register', 'renew', 'authorize', 'deregister']);

/**
 * The server's Prometheus registry. Request and product-message counters are fed by the HTTP
 * layer; everything else is read from the store and services when scraped. One registry per
 * server (not prom-client's global one) so tests can run several servers in one process.
 */
export class ServerMetrics {
  readonly registry = new Registry();
  private readonly requestDuration = new Histogram({
    name: 'slm_http_request_duration_seconds',
    help: 'HTTP requests by method, route template and status, with their latency',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  private readonly productMessages = new Counter({
    name: 'slm_product_messages_total',
    help: 'Transport Gateway messages answered, by message type and outcome (OK or the error code)',
    labelNames: ['type', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly registrations = new Counter({
    name: 'slm_product_registrations_total',
    help: 'Product registrations answered with success (a resent register counts again)',
    registers: [this.registry],
  });
  private readonly stateErrors = new Counter({
    name: 'slm_metrics_state_errors_total',
    help: 'Scrapes whose database-backed gauges could not be read (they are absent from that scrape)',
    registers: [this.registry],
  });
  private state?: { at: number; value: Promise<ServerState> };

  constructor(private readonly sources: MetricSources) {
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 20 });
    this.gauges();
  }

  observeRequest(method: string, route: string, status: number, seconds: number): void {
    this.requestDuration.observe({ method, route, status: String(status) }, seconds);
  }

  /** `message` is the request's compact JWS; only its `typ` claim is read (bounded to the four types). */
  observeProductMessage(message: unknown, outcome: string): void {
    const type = messageType(message);
    this.productMessages.inc({ type, outcome });
    if (type === 'register' && outcome === 'OK') this.registrations.inc();
  }

  async render(): Promise<string> {
    // Read the state first, so a failure is already counted in this scrape's error counter.
    await this.current().catch(() => undefined);
    return this.registry.metrics();
  }

  private current(): Promise<ServerState> {
    const now = Date.now();
    if (!this.state || now - this.state.at > STATE_TTL_MS) {
      const value = collectState(this.sources);
      const state = { at: now, value };
      this.state = state;
      // A failed read is retried on the next scrape instead of being served for 15 s.
      value.catch(() => {
        this.stateErrors.inc();
        if (this.state === state) this.state = undefined;
      });
    }
    return this.state.value;
  }

  private gauges() {
    const reg = [this.registry];
    const current = () => this.current();
    const { sources } = this;
    // Gauges read from the shared state snapshot; reset first so a vanished label set disappears.
    // When the database cannot be read they are left empty: the scrape still answers (process
    // metrics, request counters) and slm_metrics_state_errors_total says why the rest is missing.
    const from = (read: (g: Gauge<string>, s: ServerState) => void) =>
      async function (this: Gauge<string>) {
        this.reset();
        const state = await current().catch(() => undefined);
        if (state) read(this, state);
      };
    new Gauge({
      name: 'slm_product_instances', help: 'Product instances by status', labelNames: ['status'], registers: reg,
      collect: from((g, s) => s.instances.forEach(([status, n]) => g.set({ status }, n))),
    });
    new Gauge({
      name: 'slm_account_licenses', registers: reg,
      help: 'License rows per account and compliance status (accounts beyond SLM_METRICS_MAX_ACCOUNTS add up under account="(other)")',
      labelNames: ['account', 'status'],
      collect: from((g, s) => s.compliance.forEach((c) => g.set({ account: c.account, status: c.status }, c.count))),
    });
    new Gauge({
      name: 'slm_accounts_out_of_compliance', help: 'Active accounts with at least one license Out of Compliance', registers: reg,
      collect: from((g, s) => g.set(s.accountsOutOfCompliance)),
    });
    new Gauge({
      name: 'slm_alerts', help: 'Current alerts by type and severity (every account; the synchronization alert once)',
      labelNames: ['type', 'severity'], registers: reg,
      collect: from((g, s) => s.alerts.forEach((a) => g.set({ type: a.type, severity: a.severity }, a.count))),
    });
    new Gauge({
      name: 'slm_sync_last_success_timestamp_seconds', help: 'When the last synchronization succeeded (0: never)', registers: reg,
      collect: from((g, s) => g.set(s.sync.lastSuccessAt ?? 0)),
    });
    new Gauge({
      name: 'slm_sync_age_seconds', help: 'Seconds since the last successful synchronization (or since installation)', registers: reg,
      collect: from((g, s) => g.set(s.sync.ageSeconds)),
    });
    new Gauge({
      name: 'slm_sync_last_outcome', help: 'Outcome of the latest synchronization attempt (1 on the current one)',
      labelNames: ['outcome'], registers: reg,
      collect: from((g, s) => ['success', 'failure', 'none'].forEach((o) => g.set({ outcome: o }, s.sync.lastOutcome === o ? 1 : 0))),
    });
    new Gauge({
      name: 'slm_sync_required', help: '1 while products cannot register until the next successful synchronization', registers: reg,
      collect: from((g, s) => g.set(s.sync.required ? 1 : 0)),
    });
    new Gauge({
      name: 'slm_ha_role', help: 'This node\'s role (1 on the current one)', labelNames: ['role'], registers: reg,
      collect() {
        const role = sources.ha.role();
        for (const r of ['active', 'standby', 'standalone']) this.set({ role: r }, role.toLowerCase() === r ? 1 : 0);
      },
    });
    new Gauge({
      name: 'slm_ha_cluster_status', help: 'Cluster status (1 on the current one; none on a stand-alone server)',
      labelNames: ['status'], registers: reg,
      collect: from((g, s) => ['Normal', 'Degraded', 'Failover'].forEach((st) => s.ha.status && g.set({ status: st }, s.ha.status === st ? 1 : 0))),
    });
    new Gauge({
      name: 'slm_ha_heartbeat_connected', help: '1 while the heartbeat with the other node is connected (absent stand-alone)', registers: reg,
      collect: from((g, s) => s.ha.heartbeat !== undefined && g.set(s.ha.heartbeat ? 1 : 0)),
    });
    new Gauge({
      name: 'slm_db_pool_connections', help: 'PostgreSQL pool connections by state (absent on the embedded store)',
      labelNames: ['state'], registers: reg,
      collect() {
        const pool = sources.pool;
        if (!pool) return;
        this.set({ state: 'total' }, pool.totalCount);
        this.set({ state: 'idle' }, pool.idleCount);
        this.set({ state: 'waiting' }, pool.waitingCount);
      },
    });
    new Gauge({
      name: 'slm_db_pool_max', help: 'Configured PostgreSQL pool size (SLM_DB_POOL_SIZE)', registers: reg,
      collect() {
        this.set(sources.poolMax);
      },
    });
  }
}

function messageType(message: unknown): string {
  if (typeof message !== 'string') return 'invalid';
  const payload = message.split('.')[1];
  if (!payload || payload.length > 65_536) return 'invalid';
  try {
    const typ = (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { typ?: unknown }).typ;
    return typeof typ === 'string' && MESSAGE_TYPES.has(typ) ? typ : 'invalid';
  } catch {
    return 'invalid';
  }
}
