import type { RequestListener } from 'node:http';
import type { Logger } from 'pino';
import type { Config } from '../config/config';
import { openStore } from '../store/database';
import { createContext, type AppContext, type Clock } from '../app-context';
import { HttpsListeners } from '../http/https-listeners';
import { HOST_COMMON_NAME_KEY } from '../hcn/host-common-name';
import { HaFiles } from './cluster-config';
import { ClusterNode, type HaView } from './cluster-node';
import { createStandbyApp } from './standby-app';
import { NoVip, vipDriver } from './vip';
import { sleep } from './engine';

/**
 * The server's cluster mode, in two phases. Until this node is first Active it serves only the
 * Standby endpoints, from a read-only view of the replicated database (no migration, no start-up
 * write: a standby's PostgreSQL refuses them). `untilFirstActive()` then lets `startServer` run its
 * normal start-up; `serving()` hands over its listeners, and from then on a gate sends requests to
 * the full app while Active and to the Standby app otherwise.
 */
export class ClusterRuntime {
  readonly node: ClusterNode;
  private firstActive!: () => void;
  private readonly firstActivePromise = new Promise<void>((resolve) => (this.firstActive = resolve));
  private markReady!: () => void;
  private readonly ready = new Promise<void>((resolve) => (this.markReady = resolve));
  private isReady = false;
  private standbyApp?: RequestListener;
  private preliminary?: { listeners: HttpsListeners; close: () => Promise<void> };

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

  /** Serves the Standby endpoints on the node's address until the node is Active, then returns. */
  async untilFirstActive(clock?: Clock): Promise<void> {
    const view = await this.readOnlyView(clock);
    const app = createStandbyApp({ jwt: view.ctx.jwt, ha: this.node, logger: this.logger, validateResponses: this.config.validateResponses });
    const listeners = new HttpsListeners(app, view.tls);
    await listeners.listen(this.config.bind, this.config.port);
    this.preliminary = { listeners, close: () => view.ctx.store.close() };
    this.logger.info({ node: this.node.role() }, 'ha: serving Standby endpoints until this node is Active');
    this.node.start();
    await this.firstActivePromise;
    await listeners.close(undefined, 500);
  }

  /** Retries until the local PostgreSQL answers and holds the keys the primary created. */
  private async readOnlyView(clock?: Clock) {
    for (let attempt = 0; ; attempt++) {
      try {
        const store = await openStore({ databaseUrl: this.config.databaseUrl, dataDir: this.config.dataDir, migrate: false, poolSize: 2 });
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
  gate(full: RequestListener, ctx: AppContext): RequestListener {
    this.standbyApp = createStandbyApp({ jwt: ctx.jwt, ha: this.node, logger: this.logger, validateResponses: this.config.validateResponses });
    return (req, res) => (this.node.role() === 'standby' ? this.standbyApp! : full)(req, res);
  }

  /** Called once `startServer` listens: the VIP can now be served, and the first activation completes. */
  async serving(listeners: HttpsListeners, clusterConfig = new HaFiles(this.config.dataDir).readCluster()): Promise<void> {
    if (clusterConfig) this.node.useVip(vipDriver(clusterConfig, listeners));
    this.isReady = true;
    this.markReady();
    await this.preliminary?.close();
    this.preliminary = undefined;
  }

  get view(): HaView {
    return this.node;
  }

  async stop(): Promise<void> {
    await this.node.stop();
    await this.preliminary?.listeners.close(undefined, 500);
    await this.preliminary?.close();
  }
}
