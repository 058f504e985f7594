import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { AppError, badRequest, conflict } from '../errors';
import {
  HaFiles, newClusterKey, PRIMARY_NODE, SECONDARY_NODE,
  type ClusterConfig, type ClusterDescription, type VipDriverName,
} from './cluster-config';
import { startClusterServices, stopClusterServices, type ServiceDeps } from './cluster-services';
import { checkVipFree, ensureDatabase } from './deploy-checks';
import { engineInstalled, failoverProfileSql, PgAutoctl, postmasterPid, type FailoverProfile } from './engine';
import { runAsMonitorSuperuser } from './monitor';
import { waitMonitor, waitNode } from './monitor-wait';
import { signedRequest } from './heartbeat';
import { haStatusText, NOT_ENABLED } from './ha-status-text';
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

  private get engineLogs() {
    return `${this.files.engineRoot}/logs`;
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
    await waitMonitor(monitorUri, o.monitorUri ? 3000 : 30_000);
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
    await waitNode(monitorUri, PRIMARY_NODE, (n) => n.reportedState === 'single' && n.goalState === 'single', 60_000, this.engineLogs);
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
    await waitNode(description.monitorUri, SECONDARY_NODE, (n) => n.reportedState === 'secondary' && n.goalState === 'secondary', 120_000, this.engineLogs);
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

  async clusterStop(): Promise<void> {
    return stopClusterServices(this.serviceDeps());
  }

  async clusterStart(): Promise<void> {
    return startClusterServices(this.serviceDeps());
  }

  private serviceDeps(): ServiceDeps {
    return { config: this.requireCluster(), files: this.files, engine: this.engine, say: this.env.say };
  }

  statusText(): Promise<string> {
    return haStatusText(this.files, this.engine);
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

