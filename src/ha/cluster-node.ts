import type { Logger } from 'pino';
import { describeCluster, localOf, peerOf, type ClusterConfig, type HaFiles } from './cluster-config';
import { ACTIVE_GOAL_STATES, clusterHealth, roleOf, type Role } from './cluster-state';
import { ClusterEndpoint, PeerLink, signedRequest, type Heartbeat } from './heartbeat';
import { MonitorClient, PgLink, type MonitorNode } from './monitor';
import { replayState, replicationToStandbys } from './replication';
import { systemInfo, type SystemInfo } from './system-info';
import type { VipDriver } from './vip';
import { SyncPause, type SyncPauseState } from './sync-pause';

export type NodeRole = Role | 'standalone';

const PROMOTION_RECHECK_MS = 50;

export type HaNodeView = {
  name: string;
  role: 'Active' | 'Standby';
  publicAddress: string;
  clusterAddress: string;
  goalState: string | null;
  reportedState: string | null;
  healthy: boolean | null;
  system: SystemInfo | null;
};

export type HaStatus =
  | { enabled: false; syncPaused?: SyncPauseState }
  | {
      enabled: true;
      status: 'Normal' | 'Degraded' | 'Failover';
      message: string;
      heartbeat: 'Connected' | 'Disconnected';
      lastHeartbeatAt: string | null;
      vip: { address: string; port: number; driver: string; heldByThisNode: boolean };
      thisNode: string;
      thisNodeRole: 'Active' | 'Standby';
      monitor: { reachable: boolean; lastContactAt: string | null };
      activeServer: HaNodeView | null;
      standbyServer: HaNodeView | null;
      replication: {
        streaming: boolean;
        standbys: { clientAddr: string | null; state: string; syncState: string; writeLagSeconds: number; flushLagSeconds: number; replayLagSeconds: number }[];
        replayLsn: string | null;
        receiverStatus: string | null;
      };
      events: { at: string; nodeName: string; reportedState: string; goalState: string; description: string }[];
    };

/** What the HTTP layer needs from HA, in a cluster or on a stand-alone server. */
export interface HaView {
  role(): NodeRole;
  vipAddress(): string | undefined;
  status(): Promise<HaStatus>;
  systemInfo(): SystemInfo;
}

/** A stand-alone server's status: after a teardown it says that synchronization waits for a confirmation. */
function standaloneStatus(dataDir: string): HaStatus {
  const syncPaused = new SyncPause(dataDir).state();
  return syncPaused ? { enabled: false, syncPaused } : { enabled: false };
}

export class StandaloneHa implements HaView {
  constructor(private readonly dataDir: string) {}
  role(): NodeRole {
    return 'standalone';
  }
  vipAddress() {
    return undefined;
  }
  async status(): Promise<HaStatus> {
    return standaloneStatus(this.dataDir);
  }
  systemInfo() {
    return systemInfo(this.dataDir);
  }
}

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
  /** How long the last monitor answer stays valid while the monitor cannot be reached. */
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
  private monitorAt?: number;
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
    this.timers.push(setInterval(() => void this.checkLease(), Math.min(250, this.o.leaseMs / 4)));
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
      /* keep the last answer while it is recent: the monitor may be restarting */
    }
    const monitorFresh = this.monitorAt !== undefined && now - this.monitorAt <= this.o.monitorToleranceMs;
    // pg_auto_failover keeps default_transaction_read_only on until a promotion completes: read-only until then.
    const inRecovery = await this.local
      .query<{ r: boolean }>(`SELECT pg_is_in_recovery() OR current_setting('default_transaction_read_only')::bool AS r`)
      .then((rows) => rows[0].r)
      .catch(() => undefined);
    const mine = monitorFresh ? this.nodes.find((n) => n.name === config.localNode) : undefined;
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

  /** The lease: Active only while confirmed within `leaseMs`, even if a tick hangs. */
  private async checkLease() {
    if (this.current === 'active' && Date.now() - this.confirmedAt > this.o.leaseMs) await this.stepDown('Active not confirmed within the lease');
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
    const config = this.config;
    if (this.current === 'standalone') return standaloneStatus(this.opts.files.dataDir);
    const now = Date.now();
    const active = this.current === 'active';
    const [standbys, replay, events] = await Promise.all([
      active ? replicationToStandbys(this.local).catch(() => []) : Promise.resolve([]),
      replayState(this.local).catch(() => undefined),
      this.monitor.events(10).catch(() => []),
    ]);
    const streaming = active ? standbys.some((s) => s.state === 'streaming') : replay?.receiverStatus === 'streaming';
    const connected = this.peer.connected(now);
    const health = clusterHealth(this.nodes, connected, streaming);
    const views = config.nodes.map((n): HaNodeView => {
      const m = this.nodes.find((x) => x.name === n.name);
      const isLocal = n.name === config.localNode;
      const peerRole = connected ? this.peer.last?.role : m && ACTIVE_GOAL_STATES.has(m.goalState) && m.healthy ? 'active' : 'standby';
      const role = isLocal ? (active ? 'active' : 'standby') : peerRole;
      return {
        name: n.name,
        role: role === 'active' ? 'Active' : 'Standby',
        publicAddress: n.publicAddress,
        clusterAddress: n.clusterAddress,
        goalState: m?.goalState ?? null,
        reportedState: m?.reportedState ?? null,
        healthy: m ? m.healthy && m.pgIsRunning : null,
        system: isLocal ? this.systemInfo() : (this.peer.last?.system ?? null),
      };
    });
    const activeView = views.find((v) => v.role === 'Active') ?? null;
    return {
      enabled: true,
      status: health.status,
      message: health.message,
      heartbeat: connected ? 'Connected' : 'Disconnected',
      lastHeartbeatAt: this.peer.lastReceivedAt ? new Date(this.peer.lastReceivedAt).toISOString() : null,
      vip: { address: config.vip.address, port: config.serverPort, driver: config.vip.driver, heldByThisNode: this.vip.held() },
      thisNode: config.localNode,
      thisNodeRole: active ? 'Active' : 'Standby',
      monitor: { reachable: this.monitorAt !== undefined && now - this.monitorAt < 3 * this.o.tickMs + 1500, lastContactAt: this.monitorAt ? new Date(this.monitorAt).toISOString() : null },
      activeServer: activeView,
      standbyServer: views.find((v) => v !== activeView) ?? null,
      replication: {
        streaming,
        standbys: standbys.map(({ backendStart: _b, ...s }) => s),
        replayLsn: replay?.replayLsn ?? null,
        receiverStatus: replay?.receiverStatus ?? null,
      },
      events: events.map((e) => ({ ...e, at: e.at.toISOString() })),
    };
  }
}

function parseHeartbeat(value: unknown): Heartbeat {
  const v = value as Partial<Heartbeat> | undefined;
  if (!v || typeof v.node !== 'string' || (v.role !== 'active' && v.role !== 'standby') || typeof v.system !== 'object') {
    throw new Error('malformed heartbeat');
  }
  return v as Heartbeat;
}
