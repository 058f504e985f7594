import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Client } from 'pg';
import { AppError, badRequest, conflict } from '../errors';
import {
  HaFiles, newClusterKey, PRIMARY_NODE, SECONDARY_NODE, peerOf,
  type ClusterConfig, type ClusterDescription, type VipDriverName,
} from './cluster-config';
import { engineInstalled, failoverProfileSql, PgAutoctl, postmasterPid, type FailoverProfile } from './engine';
import { setTimeout as sleep } from 'node:timers/promises';
import { ACTIVE_GOAL_STATES, switchoverReady } from './cluster-state';
import { MonitorClient, monitorUriProblem, permanentConnectError, PgLink, runAsMonitorSuperuser, type MonitorNode } from './monitor';
import { signedRequest } from './heartbeat';
import { replayState, replicationToStandbys } from './replication';
import { serverSummary } from './status-summary';
import { findLeftovers, handleLeftovers } from './leftovers';
import { SyncPause } from './sync-pause';
import { keepThisNode, teardownNode, type TeardownDeps } from './ha-teardown';

export type HaAdminEnv = {
  dataDir: string;
  databaseUrl?: string;
  /** SLM_KEK when the KEK comes from the environment rather than `<data dir>/kek`. */
  kekFromEnv?: string;
  serverPort: number;
  say: (line: string) => void;
  clock?: () => Date;
};

export type DeployOptions = {
  vip: string;
  vipDriver: VipDriverName;
  vipInterface?: string;
  vipPrefixLength?: number;
  primaryAddress: string;
  primaryClusterAddress?: string;
  secondaryAddress: string;
  secondaryClusterAddress?: string;
  heartbeatPort: number;
  pgdata: string;
  monitorUri?: string;
  monitorHost?: string;
  monitorPort?: number;
  failoverProfile: FailoverProfile;
  /** Move aside what an earlier attempt or a teardown left (else the command names it and stops). */
  clean?: boolean;
};

const NOT_ENABLED = 'HA is not enabled.';

/**
 * The `slm ha` commands. They act on this node only (processes, files, the local PostgreSQL) and
 * drive pg_auto_failover through pg_autoctl; the running server follows the result on its own.
 */
export class HaAdmin {
  readonly files: HaFiles;
  readonly engine: PgAutoctl;
  private readonly syncPause: SyncPause;

  constructor(private readonly env: HaAdminEnv) {
    this.files = new HaFiles(env.dataDir);
    this.engine = new PgAutoctl(this.files.engineRoot);
    this.syncPause = new SyncPause(env.dataDir);
  }

  private get now() {
    return (this.env.clock ?? (() => new Date()))();
  }

  /** Creates the cluster key and bundles this node's KEK with it, for the peer. */
  generateKeys(force = false): string {
    if (this.files.readKeys() && !force) throw conflict('HA_KEYS_EXIST', `${this.files.keysFile} exists already (use --force to replace it)`);
    if (this.files.readCluster()) throw conflict('HA_ALREADY_DEPLOYED', 'the cluster is deployed: keys cannot change now');
    this.files.writeKeys({ version: 1, clusterKey: newClusterKey(), kek: this.localKek(), createdAt: this.now.toISOString() });
    this.env.say(`Cluster keys written to ${this.files.keysFile}.`);
    this.env.say('Copy this file to the secondary node and run there: slm ha generatekeys --import <file>');
    return this.files.keysFile;
  }

  /** Installs the primary's key file here; the KEK must match so this node can open the replicated keys. */
  importKeys(file: string): void {
    if (this.files.readCluster()) throw conflict('HA_ALREADY_DEPLOYED', 'this node is already in a cluster');
    const keys = this.files.parseKeys(readFileSync(file, 'utf8'));
    if (this.env.kekFromEnv && this.env.kekFromEnv !== keys.kek) {
      throw conflict('HA_KEK_MISMATCH', 'SLM_KEK differs from the primary\'s key-encryption key: set SLM_KEK to the same value on both nodes');
    }
    const kekFile = path.join(this.env.dataDir, 'kek');
    if (!this.env.kekFromEnv && existsSync(kekFile) && readFileSync(kekFile, 'utf8').trim() !== keys.kek) {
      renameSync(kekFile, `${kekFile}.before-ha-${this.now.getTime()}`);
    }
    if (!this.env.kekFromEnv) writeFileSync(kekFile, keys.kek + '\n', { mode: 0o600 });
    this.files.writeKeys(keys);
    this.env.say(`Cluster keys installed in ${this.files.keysFile}.`);
  }

  private localKek(): string {
    if (this.env.kekFromEnv) return this.env.kekFromEnv;
    const kekFile = path.join(this.env.dataDir, 'kek');
    if (!existsSync(kekFile)) throw conflict('HA_KEK_MISSING', `no ${kekFile}: start the server once before ha_generatekeys`);
    return readFileSync(kekFile, 'utf8').trim();
  }

  private localPg() {
    if (!this.env.databaseUrl) throw badRequest('HA_DATABASE_URL_REQUIRED', 'DATABASE_URL must point at this node\'s local PostgreSQL (the embedded store cannot be clustered)');
    const url = new URL(this.env.databaseUrl);
    return { host: url.hostname, port: Number(url.port || 5432), database: url.pathname.slice(1) || 'postgres', url };
  }

  private preflight() {
    if (this.files.readCluster()) throw conflict('HA_ALREADY_DEPLOYED', 'this node is already part of a cluster (ha_teardown first)');
    const keys = this.files.requireKeys();
    if (!engineInstalled()) throw new AppError('HA_ENGINE_MISSING', 500, 'pg_autoctl is not installed (apt-get install postgresql-15-auto-failover pg-auto-failover-cli)');
    return keys;
  }

  async deploy(o: DeployOptions): Promise<void> {
    this.preflight();
    const pg = this.localPg();
    if (!o.monitorUri && !o.monitorPort) throw badRequest('HA_MONITOR_REQUIRED', 'give --monitor <uri> of the monitor host, or --monitor-port to create one on this host');
    await checkVipFree(o.vip, this.env.serverPort, o.vipDriver);
    const t0 = Date.now();

    let monitorUri = o.monitorUri;
    let localPgdata: string | undefined;
    if (!monitorUri) {
      const host = o.monitorHost ?? '127.0.0.1';
      localPgdata = this.files.localMonitorPgdata;
      monitorUri = `postgres://autoctl_node@${host}:${o.monitorPort}/pg_auto_failover?sslmode=require`;
      if (!existsSync(localPgdata)) {
        this.env.say(`Creating the monitor on ${host}:${o.monitorPort}...`);
        await this.engine.createMonitor({ pgdata: localPgdata, host, port: o.monitorPort! });
      }
      await this.engine.startService(localPgdata);
    }
    // A monitor on another host is up already: a refused connection there is a wrong URI or port.
    await this.waitMonitor(monitorUri, o.monitorUri ? 3000 : 30_000);
    const found = await findLeftovers({ engine: this.engine, pgdata: o.pgdata, nodeName: PRIMARY_NODE, monitorUri, newPgdata: false, stamp: String(this.now.getTime()) });
    await handleLeftovers(found, o.clean === true, this.env.say, 'slm ha deploy ...');
    await this.applyProfile(monitorUri, o.failoverProfile);

    if (existsSync(path.join(o.pgdata, 'PG_VERSION')) && postmasterPid(o.pgdata)) {
      // pg_autoctl adopts an existing data directory only while PostgreSQL is stopped.
      this.env.say('Stopping the stand-alone PostgreSQL so the engine can adopt it...');
      await this.engine.pgCtl(['stop', '-D', o.pgdata, '-m', 'fast', '-w']);
    }
    this.env.say(`Registering ${pg.host}:${pg.port} as ${PRIMARY_NODE}...`);
    await this.engine.createNode({ pgdata: o.pgdata, host: pg.host, port: pg.port, name: PRIMARY_NODE, monitorUri });
    await this.engine.startService(o.pgdata);
    await this.waitNode(monitorUri, PRIMARY_NODE, (n) => n.reportedState === 'single' && n.goalState === 'single', 60_000);
    await ensureDatabase(pg.url);

    this.files.writeCluster({
      version: 1,
      localNode: PRIMARY_NODE,
      nodes: [
        { name: PRIMARY_NODE, publicAddress: o.primaryAddress, clusterAddress: o.primaryClusterAddress ?? o.primaryAddress },
        { name: SECONDARY_NODE, publicAddress: o.secondaryAddress, clusterAddress: o.secondaryClusterAddress ?? o.secondaryAddress },
      ],
      vip: { address: o.vip, driver: o.vipDriver, interface: o.vipInterface, prefixLength: o.vipPrefixLength },
      serverPort: this.env.serverPort,
      heartbeatPort: o.heartbeatPort,
      monitor: { uri: monitorUri, localPgdata },
      pg: { pgdata: o.pgdata, host: pg.host, port: pg.port, database: pg.database },
      failoverProfile: o.failoverProfile,
      services: 'running',
    });
    this.syncPause.resume();
    this.env.say(`Deployed in ${((Date.now() - t0) / 1000).toFixed(1)} s: this node is ${PRIMARY_NODE}, VIP ${o.vip} (${o.vipDriver}).`);
    this.env.say('Restart the slm server on this node (it starts in cluster mode), then run ha_provision_standby on the secondary.');
  }

  async provisionStandby(o: { primary: string; heartbeatPort: number; pgdata: string; clean?: boolean }): Promise<void> {
    const keys = this.preflight();
    const pg = this.localPg();
    const description = await signedRequest<ClusterDescription>(Buffer.from(keys.clusterKey, 'base64'), o.primary, o.heartbeatPort, 'GET', '/ha/cluster', undefined, 3000)
      .catch((err: AppError) => {
        throw err.code === 'HA_PEER_UNREACHABLE'
          ? new AppError('HA_PRIMARY_NOT_DEPLOYED', 409, `the primary's cluster endpoint ${o.primary}:${o.heartbeatPort} does not answer: run ha_deploy there and restart its server first`)
          : err;
      });
    const found = await findLeftovers({ engine: this.engine, pgdata: o.pgdata, nodeName: SECONDARY_NODE, monitorUri: description.monitorUri, newPgdata: true, stamp: String(this.now.getTime()) });
    await handleLeftovers(found, o.clean === true, this.env.say, `slm ha provision-standby --primary ${o.primary} --pgdata ${o.pgdata}`);
    const t0 = Date.now();
    this.env.say(`Cloning the primary's database into ${o.pgdata}...`);
    await this.engine.createNode({ pgdata: o.pgdata, host: pg.host, port: pg.port, name: SECONDARY_NODE, monitorUri: description.monitorUri });
    await this.engine.startService(o.pgdata);
    await this.waitNode(description.monitorUri, SECONDARY_NODE, (n) => n.reportedState === 'secondary' && n.goalState === 'secondary', 120_000);
    this.engine.smallConf(o.pgdata);
    this.files.writeCluster({
      version: 1,
      localNode: SECONDARY_NODE,
      nodes: description.nodes,
      vip: description.vip,
      serverPort: description.serverPort,
      heartbeatPort: description.heartbeatPort,
      monitor: { uri: description.monitorUri },
      pg: { pgdata: o.pgdata, host: pg.host, port: pg.port, database: description.database },
      failoverProfile: description.failoverProfile,
      services: 'running',
    });
    this.syncPause.resume();
    this.env.say(`Standby provisioned in ${((Date.now() - t0) / 1000).toFixed(1)} s: this node is ${SECONDARY_NODE}, streaming from the primary.`);
    this.env.say('Restart the slm server on this node (it starts in cluster mode, as Standby).');
  }

  private requireCluster(): ClusterConfig {
    const config = this.files.readCluster();
    if (!config) throw conflict('HA_NOT_ENABLED', NOT_ENABLED);
    return config;
  }

  /** Stops this node's cluster services; an Active node with a healthy standby hands over first. */
  async clusterStop(): Promise<void> {
    const config = this.requireCluster();
    if (config.services === 'stopped' && !this.engine.servicePid(config.pg.pgdata)) throw conflict('HA_ALREADY_STOPPED', 'the cluster services are already stopped on this node');
    const monitor = new MonitorClient(config.monitor.uri);
    try {
      let nodes = await monitor.nodes().catch(() => []);
      let me = nodes.find((n) => n.name === config.localNode);
      let peer = nodes.find((n) => n.name !== config.localNode);
      // A standby that just rejoined: wait (briefly) for the monitor to settle both nodes first.
      for (const deadline = Date.now() + 15_000; me && peer?.healthy && ACTIVE_GOAL_STATES.has(me.goalState) && !switchoverReady(me, peer) && Date.now() < deadline;) {
        await sleep(300);
        nodes = await monitor.nodes().catch(() => nodes);
        me = nodes.find((n) => n.name === config.localNode);
        peer = nodes.find((n) => n.name !== config.localNode);
      }
      if (me && ACTIVE_GOAL_STATES.has(me.goalState)) {
        if (switchoverReady(me, peer)) {
          this.env.say(`Handing over to ${peer!.name} (planned switchover)...`);
          const t0 = Date.now();
          await this.engine.autoctl(['perform', 'switchover', '--pgdata', config.pg.pgdata, '--wait', '60'], 90_000);
          this.env.say(`Switchover done in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${peer!.name} is the primary.`);
        } else {
          this.env.say('Warning: no healthy standby to hand over to; the cluster is unavailable until a node starts again.');
        }
      }
      await this.leaveSynchronousReplication(monitor, config);
    } finally {
      await monitor.close();
    }
    this.files.writeCluster({ ...config, services: 'stopped' });
    await this.engine.stopService(config.pg.pgdata);
    this.env.say('Cluster services stopped on this node.');
  }

  /**
   * A secondary is the primary's synchronous standby: stopping it outright would hold every commit
   * on the primary until the monitor declares it unhealthy and drops synchronous replication
   * (measured 2.4-2.8 s of stalled writes right after a switchover). Maintenance makes the monitor
   * move the primary to wait_primary first, while this node still streams, so writes never wait.
   */
  private async leaveSynchronousReplication(monitor: MonitorClient, config: ClusterConfig): Promise<void> {
    const nodes = await monitor.nodes().catch(() => []);
    const me = nodes.find((n) => n.name === config.localNode);
    const peer = nodes.find((n) => n.name !== config.localNode);
    if (!me || me.goalState !== 'secondary' || !peer || peer.goalState !== 'primary') return;
    await this.engine.autoctl(['enable', 'maintenance', '--pgdata', config.pg.pgdata], 60_000).then(
      () => this.env.say(`${peer.name} no longer waits for this node's replication.`),
      (err) => this.env.say(`Warning: could not put this node in maintenance first (${(err as Error).message.split('\n')[0]}); writes on ${peer.name} wait until the monitor notices this node is gone.`),
    );
  }

  /** Starts this node's cluster services; a former primary comes back as standby (pg_rewind if needed). */
  async clusterStart(): Promise<void> {
    const config = this.requireCluster();
    if (config.services === 'running' && this.engine.servicePid(config.pg.pgdata)) throw conflict('HA_ALREADY_RUNNING', 'the cluster services are already running on this node');
    if (config.monitor.localPgdata) await this.engine.startService(config.monitor.localPgdata);
    await this.waitMonitor(config.monitor.uri);
    const t0 = Date.now();
    await this.engine.startService(config.pg.pgdata);
    this.files.writeCluster({ ...config, services: 'running' });
    const monitor = new MonitorClient(config.monitor.uri);
    try {
      // Stopped by ha_cluster_stop in maintenance (see leaveSynchronousReplication): rejoin as a standby.
      const me = (await monitor.nodes()).find((n) => n.name === config.localNode);
      if (me && ['maintenance', 'wait_maintenance', 'prepare_maintenance'].includes(me.goalState)) {
        await this.engine.autoctl(['disable', 'maintenance', '--pgdata', config.pg.pgdata], 120_000);
      }
    } finally {
      await monitor.close();
    }
    const node = await this.waitNode(config.monitor.uri, config.localNode,
      (n) => n.reportedState === n.goalState && ['primary', 'secondary', 'single', 'wait_primary'].includes(n.goalState) && n.healthy, 120_000);
    this.env.say(`Cluster services started in ${((Date.now() - t0) / 1000).toFixed(1)} s: this node is ${node.reportedState === 'secondary' ? 'Standby' : 'Active'} (${node.reportedState}).`);
  }

  /** The reference `ha_status` layout. */
  async statusText(): Promise<string> {
    const config = this.files.readCluster();
    if (!config) return NOT_ENABLED;
    const keeper = this.engine.servicePid(config.pg.pgdata);
    if (config.services === 'stopped' || !keeper) throw conflict('HA_NOT_RUNNING', 'cluster is not currently running on this node');
    const summary = await serverSummary(config, Buffer.from(this.files.requireKeys().clusterKey, 'base64'));
    const monitor = new MonitorClient(config.monitor.uri);
    const local = new PgLink(`postgresql://postgres@${config.pg.host}:${config.pg.port}/${config.pg.database}`);
    try {
      const nodes = await monitor.nodes().catch(() => undefined);
      const mon = new URL(config.monitor.uri);
      const lines = [...summary, '', 'Daemon Status:', `keeper: active`, `monitor: ${nodes ? 'reachable' : 'unreachable'} (${mon.hostname}:${mon.port})`, '', '=====', 'Database Replication Status:', '====='];
      const replay = await replayState(local).catch(() => undefined);
      if (!replay) return [...lines, 'Error: the local database is not answering'].join('\n');
      const peerName = peerOf(config).name;
      const peerNode = nodes?.find((n) => n.name === peerName);
      const peerAddr = peerNode?.host ?? peerOf(config).clusterAddress;
      const standbys = replay.inRecovery ? [] : await replicationToStandbys(local).catch(() => []);
      lines.push(replay.inRecovery
        ? `Database is currently the replication slave - Replicating from ${peerName} (${peerAddr})`
        : standbys.length
          ? `Database is currently the replication master - Replicating to ${peerName} (${peerAddr})`
          : `Database is currently the replication master - No standby is connected`);
      lines.push('', 'Replication to slave:', 'client_addr | backend_start | state | write_lag | flush_lag | replay_lag', '-----');
      for (const s of standbys) lines.push([s.clientAddr ?? '', s.backendStart, s.state, s.writeLagSeconds, s.flushLagSeconds, s.replayLagSeconds].join(' | '));
      lines.push(rowCount(standbys.length), '', 'Replication from master:', 'pg_last_wal_replay_lsn', '-----');
      if (replay.replayLsn) lines.push(replay.replayLsn);
      lines.push(rowCount(1));
      return lines.join('\n');
    } finally {
      await monitor.close();
      await local.close();
    }
  }

  /** Leaves the cluster for good: this node becomes a stand-alone server that keeps its data. */
  async teardown(confirm: () => Promise<string>): Promise<void> {
    return teardownNode(this.teardownDeps(this.requireCluster()), confirm);
  }

  /** After a teardown: confirms this node as the copy to keep, so it synchronizes with the vendor again. */
  async keepThisNode(confirm: () => Promise<string>): Promise<void> {
    return keepThisNode({ files: this.files, syncPause: this.syncPause, say: this.env.say }, confirm);
  }

  private teardownDeps(config: ClusterConfig): TeardownDeps {
    return { config, files: this.files, engine: this.engine, syncPause: this.syncPause, say: this.env.say, now: this.now };
  }

  /**
   * Waits for the monitor to answer. A refused or timed-out connection is retried (a monitor
   * started just now takes a moment) for `timeoutMs`; an error that waiting cannot fix fails at once.
   */
  private async waitMonitor(uri: string, timeoutMs = 30_000): Promise<void> {
    const problem = monitorUriProblem(uri);
    if (problem) throw badRequest('HA_MONITOR_URI_INVALID', `monitor URI: ${problem}`);
    const monitor = new MonitorClient(uri);
    const deadline = Date.now() + timeoutMs;
    try {
      for (;;) {
        try {
          await monitor.nodes();
          return;
        } catch (err) {
          if (permanentConnectError(err) || Date.now() > deadline) {
            throw new AppError('HA_MONITOR_UNREACHABLE', 503, `the monitor at ${new URL(uri).host} does not answer: ${(err as Error).message}`);
          }
          await sleep(200);
        }
      }
    } finally {
      await monitor.close();
    }
  }

  private async waitNode(uri: string, name: string, done: (n: MonitorNode) => boolean, timeoutMs: number): Promise<MonitorNode> {
    const monitor = new MonitorClient(uri);
    const deadline = Date.now() + timeoutMs;
    let last: MonitorNode | undefined;
    try {
      for (;;) {
        last = (await monitor.nodes().catch(() => [])).find((n) => n.name === name);
        if (last && done(last)) return last;
        if (Date.now() > deadline) {
          throw new AppError('HA_ENGINE_TIMEOUT', 504, `${name} did not reach the expected state in ${timeoutMs / 1000} s (now ${last ? `${last.reportedState} -> ${last.goalState}` : 'not registered'}); see ${this.files.engineRoot}/logs`);
        }
        await sleep(200);
      }
    } finally {
      await monitor.close();
    }
  }

  private async applyProfile(monitorUri: string, profile: FailoverProfile): Promise<void> {
    const sql = failoverProfileSql(profile);
    try {
      await runAsMonitorSuperuser(monitorUri, sql);
      this.env.say(`Failover profile "${profile}" applied on the monitor.`);
    } catch (err) {
      this.env.say(`Warning: could not apply the "${profile}" failover profile (${(err as Error).message}); run on the monitor as superuser:`);
      for (const statement of sql) this.env.say(`  ${statement};`);
    }
  }
}

const rowCount = (n: number) => `(${n} row${n === 1 ? '' : 's'})`;

/** The VIP must be free: nobody serving on it, and for `bind` an address this host has. */
export async function checkVipFree(address: string, port: number, driver: VipDriverName): Promise<void> {
  if (!net.isIP(address)) throw badRequest('VIP_INVALID', `${address} is not an IP address`);
  if (driver === 'none') return;
  if (driver === 'bind') {
    const local = await new Promise<boolean>((resolve) => {
      const srv = net.createServer();
      srv.once('error', () => resolve(false));
      srv.listen(0, address, () => srv.close(() => resolve(true)));
    });
    if (!local) throw badRequest('VIP_NOT_LOCAL', `${address} is not an address of this host: the bind driver needs it present (or use --vip-driver iproute2)`);
  }
  const answering = await new Promise<boolean>((resolve) => {
    const socket = net.connect({ host: address, port, timeout: 1000 });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
  });
  if (answering) throw conflict('VIP_IN_USE', `something already answers on ${address}:${port}: the VIP must be free`);
}

/** The server's database on the adopted instance (a fresh instance has only `postgres`). */
async function ensureDatabase(url: URL): Promise<void> {
  const admin = new URL(url.toString());
  admin.pathname = '/postgres';
  let client: Client;
  // The keeper reports the node before its PostgreSQL is up: wait for it.
  for (let attempt = 0; ; attempt++) {
    client = new Client({ connectionString: admin.toString(), connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      break;
    } catch (err) {
      await client.end().catch(() => undefined);
      if (attempt >= 150) throw new AppError('HA_DATABASE_UNREACHABLE', 503, `the local PostgreSQL does not answer: ${(err as Error).message}`);
      await sleep(200);
    }
  }
  try {
    const name = url.pathname.slice(1);
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
  } finally {
    await client.end();
  }
}
