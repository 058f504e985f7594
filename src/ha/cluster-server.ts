import http, { type RequestListener } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Config } from '../config/config';
import { openStore, type Store } from '../store/database';
import { applyMigrations } from '../store/migrate';
import { pgRunner } from '../store/sql-runner';
import { createApp } from '../http/app';
import { createContext, type AppContext } from '../app-context';
import type { Clock } from '../clock';
import { HttpsListeners } from '../http/https-listeners';
import { HOST_COMMON_NAME_KEY } from '../hcn/host-common-name';
import { HaFiles } from './cluster-config';
import { ClusterNode } from './cluster-node';
import type { HaView } from './ha-view';
import { createStandbyApp } from './standby-app';
import { NoVip, vipDriver } from './vip';
import { warmUpHeaders } from '../http/request-log';
import { metricsRoutes } from '../metrics/metrics-routes';
import { followSyncPause } from './sync-pause';

/**
 * The server's cluster mode, in two phases. Until this node is first Active it serves only the
 * Standby endpoints, from a read-only view of the replicated database (no migration, no start-up
 * write: a standby's PostgreSQL refuses them). `untilFirstActive()` then hands `startServer` the
 * store, context and app for its normal start-up writes; `serving()` takes its listeners, and from
 * then on a gate sends requests to the full app while Active and to the Standby app otherwise.
 */
export class ClusterRuntime {
  readonly node: ClusterNode;
  private firstActive!: () => void;
  private readonly firstActivePromise = new Promise<void>((resolve) => (this.firstActive = resolve));
  private markReady!: () => void;
  private readonly ready = new Promise<void>((resolve) => (this.markReady = resolve));
  private isReady = false;
  private standbyApp?: RequestListener;
  private preliminary?: HttpsListeners;
  private stopSyncFollow?: () => void;
  private prepared?: { view: Awaited<ReturnType<ClusterRuntime['readOnlyView']>>; app: RequestListener; standby: RequestListener };

  private constructor(private readonly config: Config, private readonly logger: Logger, files: HaFiles) {
    const cluster = files.readCluster()!;
    const keys = files.requireKeys();
    this.node = new ClusterNode({
      files,
      config: cluster,
      clusterKey: Buffer.from(keys.clusterKey, 'base64'),
      databaseUrl: config.databaseUrl!,
      logger,
      vip: new NoVip(),
      prepareActive: async () => {
        if (this.isReady) return;
        this.firstActive();
        await this.ready;
      },
    });
  }

  /** The runtime when this node's data directory holds a cluster configuration, else undefined. */
  static detect(config: Config, logger: Logger): ClusterRuntime | undefined {
    const files = new HaFiles(config.dataDir);
    if (!files.readCluster()) return undefined;
    if (!config.databaseUrl) throw new Error('cluster mode needs DATABASE_URL pointing at this node\'s local PostgreSQL');
    return new ClusterRuntime(config, logger, files);
  }

  /**
   * Serves the Standby endpoints on the node's address until the node is Active, then applies
   * pending migrations and returns the store, context and app to serve with. The full app is built
   * and warmed up (its OpenAPI validators compile on the first request) while still Standby, so a
   * failover does not pay for it.
   */
  async untilFirstActive(clock?: Clock): Promise<{ store: Store; ctx: AppContext; app: RequestListener }> {
    const { view, app, standby } = this.prepared ?? (await this.prepare(clock));
    const listeners = new HttpsListeners(standby, view.tls, this.config.http);
    await listeners.listen(this.config.bind, this.config.port);
    this.preliminary = listeners;
    this.logger.info('ha: serving Standby endpoints until this node is Active');
    this.node.start();
    await this.firstActivePromise;
    await listeners.close(undefined, 500);
    this.preliminary = undefined;
    const runner = await pgRunner(this.config.databaseUrl!);
    try {
      await applyMigrations(runner);
    } finally {
      await runner.close();
    }
    return { store: view.ctx.store, ctx: view.ctx, app };
  }

  /**
   * The read-only part of a start: the store, the context, both apps built and warmed up. A spare
   * process (see supervise-server.ts) does this before it is promoted, so a restart skips it.
   */
  async prepare(clock?: Clock) {
    const view = await this.readOnlyView(clock);
    const app = createApp(view.ctx);
    const standby = createStandbyApp({ sessions: view.ctx.sessions, ha: this.node, logger: this.logger, validateResponses: this.config.validateResponses, metrics: metricsRoutes(view.ctx) });
    this.standbyApp = standby;
    await Promise.all([warmUp(app), warmUp(standby)]).catch((err) => this.logger.warn({ err: (err as Error).message }, 'ha: warm-up failed'));
    this.prepared = { view, app, standby };
    return this.prepared;
  }

  /** Retries until the local PostgreSQL answers and holds the keys the primary created. */
  private async readOnlyView(clock?: Clock) {
    for (let attempt = 0; ; attempt++) {
      try {
        const store = await openStore({ databaseUrl: this.config.databaseUrl, dataDir: this.config.dataDir, poolSize: this.config.dbPoolSize, migrate: false });
        try {
          const ctx = await createContext(this.config, store, this.logger, clock, this.node);
          const name = (await ctx.settings.get<string>(HOST_COMMON_NAME_KEY)) ?? this.config.initialHostCommonName;
          const [ca, tls] = [await ctx.pki.ca(), await ctx.pki.tlsCredential(name)];
          return { ctx, tls: { key: tls.key.export({ type: 'pkcs8', format: 'pem' }) as string, cert: tls.certPem + ca.certPem } };
        } catch (err) {
          await store.close();
          throw err;
        }
      } catch (err) {
        if (attempt % 10 === 0) this.logger.warn({ err: (err as Error).message }, 'ha: waiting for the local database');
        await sleep(1000);
      }
    }
  }

  /** Wraps the full app: it answers only while this node is Active (or stand-alone after teardown). */
  gate(full: RequestListener): RequestListener {
    return (req, res) => (this.node.role() === 'standby' ? this.standbyApp! : full)(req, res);
  }

  /**
   * Called once `startServer` listens: the VIP can now be served, the first activation completes,
   * and from now on the writing background jobs follow the role.
   */
  async serving(listeners: HttpsListeners, ctx: AppContext): Promise<void> {
    const clusterConfig = new HaFiles(this.config.dataDir).readCluster();
    if (clusterConfig) this.node.useVip(vipDriver(clusterConfig, listeners));
    const mayRun = () => this.node.role() !== 'standby' && !ctx.syncPause.state();
    this.node.onRoleChange(() => (mayRun() ? ctx.syncScheduler.start() : void ctx.syncScheduler.stop()));
    this.stopSyncFollow = followSyncPause(ctx.syncPause, ctx.syncScheduler, () => this.node.role() !== 'standby', this.logger);
    this.isReady = true;
    this.markReady();
  }

  get view(): HaView {
    return this.node;
  }

  async stop(): Promise<void> {
    this.stopSyncFollow?.();
    await this.node.stop();
    await this.preliminary?.close(undefined, 500);
  }
}

/**
 * Sends a few requests through the app in-process so express-openapi-validator loads the spec and
 * compiles its validators now rather than on the first product request after a failover.
 */
async function warmUp(app: RequestListener): Promise<void> {
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  const call = (method: string, path: string, body?: string) =>
    new Promise<void>((resolve) => {
      const req = http.request({ host: '127.0.0.1', port, method, path, headers: { ...warmUpHeaders(), ...(body ? { 'content-type': 'application/json' } : {}) } }, (res) => {
        res.resume();
        res.on('end', () => resolve());
      });
      req.on('error', () => resolve());
      req.end(body);
    });
  try {
    await call('GET', '/api/v1/ha/status');
    await call('POST', '/Transportgateway/services/DeviceRequestHandler', '{"message":"warm-up"}');
  } finally {
    server.close();
  }
}
