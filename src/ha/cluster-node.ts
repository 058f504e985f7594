import type { Logger } from 'pino';
import { describeCluster, localOf, peerOf, type ClusterConfig, type HaFiles } from './cluster-config';
import { ACTIVE_GOAL_STATES, earliestPromotionMs, monitorAnswerTrusted, roleOf } from './cluster-state';
import { FAILOVER_PROFILES } from './engine';
import { ClusterEndpoint, PeerLink, signedRequest, type Heartbeat } from './heartbeat';
import { standaloneStatus, type HaStatus, type HaView, type NodeRole } from './ha-view';
import { MonitorClient, PgLink, type MonitorNode } from './monitor';
import { clusterStatus } from './node-status';
import { systemInfo } from './system-info';
import type { VipDriver } from './vip';

const PROMOTION_RECHECK_MS = 50;
/** pg_auto_failover's own node_considered_unhealthy_timeout and primary_demote_timeout (profile `default`). */
const ENGINE_TIMINGS = { unhealthy: 20_000, demote: 30_000 };
const LOCAL_STATE_SQL = `SELECT pg_is_in_recovery() OR current_setting('default_transaction_read_only')::bool AS r,
  current_setting('synchronous_standby_names') <> '' AND current_setting('synchronous_commit') IN ('on', 'remote_write', 'remote_apply') AS sync`;

export type ClusterNodeOptions = {
  files: HaFiles;
  config: ClusterConfig;
  clusterKey: Buffer;
  databaseUrl: string;
  logger: Logger;
  vip: VipDriver;
  /** Makes the node ready to serve writes (migrations, start-up writes); runs before the VIP is taken. */
  prepareActive: () => Promise<void>;
  tickMs?: number;
  heartbeatMs?: number;
  leaseMs?: number;
  /** How long the last monitor answer stays valid while the monitor cannot be reached and PostgreSQL commits synchronously. */
  monitorToleranceMs?: number;
};

/**
 * The cluster side of one server process: follows the monitor (LISTEN state, polling as fallback)
 * and the local PostgreSQL to decide Active or Standby, holds the VIP under a lease, and exchanges
 * heartbeats with the peer. It never promotes anything: pg_auto_failover does.
 */
export class ClusterNode implements HaView {
  private current: NodeRole = 'standby';
  private config: ClusterConfig;
  private readonly monitor: MonitorClient;
  private readonly local: PgLink;
  readonly peer: PeerLink;
  private nodes: MonitorNode[] = [];
  /** When the monitor's last answer was asked for (what it said held at that moment). */
  private monitorAt?: number;
  /** Whether the local PostgreSQL commits synchronously, at the last look. */
  private synchronous?: boolean;
  private confirmedAt = 0;
  private timers: NodeJS.Timeout[] = [];
  private endpoint?: ClusterEndpoint;
  private unlisten?: () => Promise<void>;
  private listening = false;
  private ticking?: Promise<void>;
  private again = false;
  private stopped = false;
  private readonly o: Required<Omit<ClusterNodeOptions, 'files' | 'config' | 'clusterKey' | 'databaseUrl' | 'logger' | 'vip' | 'prepareActive'>>;

  private vip: VipDriver;
  private roleListener?: (role: NodeRole) => void;
  /** The last problem logged per subject: a condition that persists is logged when it starts, not every tick. */
  private readonly logged = new Map<string, string>();
  private peerConnected?: boolean;

  constructor(private readonly opts: ClusterNodeOptions) {
    this.config = opts.config;
    this.vip = opts.vip;
    this.monitor = new MonitorClient(opts.config.monitor.uri);
    this.local = new PgLink(opts.databaseUrl);
    this.o = { tickMs: 500, heartbeatMs: 1000, leaseMs: 3000, monitorToleranceMs: 20_000, ...opts };
    this.peer = new PeerLink(3 * this.o.heartbeatMs);
  }

  role(): NodeRole {
    return this.current;
  }

  vipAddress() {
    return this.config.vip.address;
  }

  systemInfo() {
    return systemInfo(this.opts.files.dataDir);
  }

  /** Called after every change of role (background jobs that write run only while not Standby). */
  onRoleChange(listener: (role: NodeRole) => void) {
    this.roleListener = listener;
  }

  /** The VIP driver may need listeners that exist only once the server is up. */
  useVip(vip: VipDriver) {
    this.vip = vip;
  }

  /** Starts the loops; the first evaluation runs in the background (activation may wait for the server). */
  start(): void {
    void this.tick();
    this.timers.push(setInterval(() => void this.tick(), this.o.tickMs));
    this.timers.push(setInterval(() => void this.checkLease(), this.leaseCheckMs));
    this.timers.push(setInterval(() => void this.sendHeartbeat(), this.o.heartbeatMs));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    await this.ticking;
    await this.vip.release().catch(() => undefined);
    await this.closeClusterLinks();
    await this.local.close();
  }

  /** Runs one evaluation; calls that arrive meanwhile (LISTEN) are folded into one more run. */
  tick(): Promise<void> {
    if (this.ticking) {
      this.again = true;
      return this.ticking;
    }
    this.ticking = (async () => {
      do {
        this.again = false;
        await this.evaluate().then(
          () => this.quiet('evaluation'),
          (err) => this.once('evaluation', 'error', { err: (err as Error).message }, 'ha: evaluation failed'),
        );
      } while (this.again && !this.stopped);
    })().finally(() => (this.ticking = undefined));
    return this.ticking;
  }

  private async evaluate(): Promise<void> {
    if (this.stopped || this.current === 'standalone') return;
    const config = this.opts.files.readCluster();
    if (!config) return this.becomeStandalone();
    this.config = config;
    if (config.services === 'stopped') {
      await this.stepDown('cluster services are stopped on this node');
      await this.closeClusterLinks();
      return;
    }
    await this.openClusterLinks();
    const now = Date.now();
    const connected = this.peer.connected(now);
    if (connected !== this.peerConnected) {
      this.peerConnected = connected;
      this.opts.logger[connected ? 'info' : 'warn']({ peer: peerOf(config).name }, connected ? 'ha: heartbeat Connected' : 'ha: heartbeat Disconnected');
    }
    try {
      this.nodes = await this.monitor.nodes();
      this.monitorAt = now;
    } catch {
      /* keep the last answer while it is trusted: the monitor may be restarting */
    }
    // pg_auto_failover keeps default_transaction_read_only on until a promotion completes: read-only until then.
    const local = await this.local.query<{ r: boolean; sync: boolean }>(LOCAL_STATE_SQL).then((rows) => rows[0]).catch(() => undefined);
    const inRecovery = local?.r;
    this.synchronous = local?.sync;
    const mine = this.monitorTrusted(Date.now()) ? this.nodes.find((n) => n.name === config.localNode) : undefined;
    if (roleOf(mine, inRecovery) === 'active') {
      this.confirmedAt = Date.now();
      if (this.current !== 'active') await this.becomeActive();
      else if (!this.vip.held()) await this.takeVip();
    } else {
      await this.stepDown(`monitor goal ${mine?.goalState ?? 'unknown'}, in recovery ${inRecovery ?? 'unknown'}`);
      // The monitor's notification of a promotion can come before the keeper makes PostgreSQL writable
      // (measured 60 ms); looking again shortly beats waiting for the next poll (up to tickMs).
      if (mine && ACTIVE_GOAL_STATES.has(mine.goalState) && inRecovery === true) setTimeout(() => void this.tick(), PROMOTION_RECHECK_MS).unref();
    }
  }

  private once(subject: string, level: 'warn' | 'error', fields: Record<string, unknown>, msg: string) {
    const key = `${msg} ${JSON.stringify(fields)}`;
    if (this.logged.get(subject) === key) return;
    this.logged.set(subject, key);
    this.opts.logger[level](fields, msg);
  }

  /** The subject's problem is over: say so once, and log it again if it comes back. */
  private quiet(subject: string) {
    if (!this.logged.delete(subject)) return;
    this.opts.logger.info({ subject }, 'ha: recovered');
  }

  private async becomeActive() {
    try {
      await this.opts.prepareActive();
    } catch (err) {
      this.opts.logger.error({ err }, 'ha: could not prepare the node to serve as Active; retrying');
      return;
    }
    this.current = 'active';
    this.opts.logger.info({ node: this.config.localNode }, 'ha: this node is Active');
    this.roleListener?.('active');
    await this.takeVip();
  }

  private async takeVip() {
    try {
      await this.vip.acquire();
      this.quiet('vip');
      this.opts.logger.info({ vip: this.config.vip.address }, 'ha: VIP acquired');
    } catch (err) {
      // The old Active may not have let go yet (same host in tests): try again at the next tick.
      this.once('vip', 'warn', { err: (err as Error).message }, 'ha: VIP not acquired yet (retrying every tick; logged once)');
    }
  }

  private async stepDown(reason: string) {
    if (this.current !== 'active') return;
    this.current = 'standby';
    this.opts.logger.warn({ reason }, 'ha: this node is Standby');
    this.roleListener?.('standby');
    await this.vip.release();
  }

  /**
   * The lease: Active only while confirmed within `leaseMs`, even if a tick hangs, and only while
   * the monitor's last answer is trusted (see monitorAnswerTrusted: cut off from the monitor while
   * committing asynchronously, the node steps down before the monitor may promote its standby).
   */
  private async checkLease() {
    if (this.current !== 'active') return;
    const now = Date.now();
    if (now - this.confirmedAt > this.o.leaseMs) await this.stepDown('Active not confirmed within the lease');
    else if (!this.monitorTrusted(now)) await this.stepDown('no monitor answer within the lease (PostgreSQL commits asynchronously)');
  }

  private get leaseCheckMs() {
    return Math.min(250, this.o.leaseMs / 4);
  }

  private monitorTrusted(now: number): boolean {
    const promotionAfterMs = earliestPromotionMs(FAILOVER_PROFILES[this.config.failoverProfile] ?? ENGINE_TIMINGS);
    return monitorAnswerTrusted({ askedAt: this.monitorAt, now, synchronous: this.synchronous, promotionAfterMs, toleranceMs: this.o.monitorToleranceMs, checkEveryMs: this.leaseCheckMs });
  }

  private async becomeStandalone() {
    await this.vip.release();
    await this.closeClusterLinks();
    await this.opts.prepareActive();
    this.current = 'standalone';
    this.roleListener?.('standalone');
    this.opts.logger.info('ha: HA was torn down; serving as a stand-alone server');
  }

  private async openClusterLinks() {
    if (!this.endpoint) {
      const endpoint = new ClusterEndpoint(this.opts.clusterKey, {
        'POST /ha/heartbeat': (body) => {
          this.peer.record(parseHeartbeat(body), Date.now());
          return this.heartbeat();
        },
        'GET /ha/cluster': () => describeCluster(this.config),
        // For `slm ha status` on this node (it holds the cluster key): the facts only this server knows.
        'GET /ha/status': () => this.status(),
      });
      const me = localOf(this.config);
      await endpoint.listen(me.clusterAddress, this.config.heartbeatPort).then(
        () => {
          this.endpoint = endpoint;
          this.quiet('endpoint');
        },
        (err) => this.once('endpoint', 'warn', { err: (err as Error).message }, 'ha: heartbeat listener not open yet (retrying; logged once)'),
      );
    }
    if (!this.listening) {
      this.listening = true;
      this.monitor
        .listen(() => void this.tick(), () => (this.listening = false))
        .then((unlisten) => (this.unlisten = unlisten), () => (this.listening = false));
    }
  }

  private async closeClusterLinks() {
    await this.endpoint?.close();
    this.endpoint = undefined;
    await this.unlisten?.();
    this.unlisten = undefined;
    this.listening = false;
    await this.monitor.close();
  }

  private heartbeat(): Heartbeat {
    return { node: this.config.localNode, role: this.current === 'active' ? 'active' : 'standby', system: this.systemInfo(), sentAt: new Date().toISOString() };
  }

  private async sendHeartbeat() {
    if (!this.endpoint) return;
    const peer = peerOf(this.config);
    try {
      const reply = await signedRequest<unknown>(this.opts.clusterKey, peer.clusterAddress, this.config.heartbeatPort, 'POST', '/ha/heartbeat', this.heartbeat());
      this.peer.record(parseHeartbeat(reply), Date.now());
    } catch {
      /* the peer is down or stopped: PeerLink times out into Disconnected */
    }
  }

  async status(): Promise<HaStatus> {
    if (this.current === 'standalone') return standaloneStatus(this.opts.files.dataDir);
    return clusterStatus({
      config: this.config, active: this.current === 'active', nodes: this.nodes, monitorAt: this.monitorAt,
      monitorReachableMs: 3 * this.o.tickMs + 1500, peer: this.peer, vipHeld: this.vip.held(), local: this.local,
      monitor: this.monitor, systemInfo: this.systemInfo(),
    });
  }
}

function parseHeartbeat(value: unknown): Heartbeat {
  const v = value as Partial<Heartbeat> | undefined;
  if (!v || typeof v.node !== 'string' || (v.role !== 'active' && v.role !== 'standby') || typeof v.system !== 'object') {
    throw new Error('malformed heartbeat');
  }
  return v as Heartbeat;
}
