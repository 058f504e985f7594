import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from './config/config';
import { openStore } from './store/database';
import { createContext, type AppContext } from './app-context';
import type { Clock } from './clock';
import { createApp } from './http/app';
import { HttpsListeners } from './http/https-listeners';
import { INSTALLED_AT_KEY } from './licenses/license-service';
import { ClusterRuntime } from './ha/cluster-server';
import { handOverInitialPassword } from './users/initial-password';
import { startBanner } from './server-banner';
import { followSyncPause } from './ha/sync-pause';

export type RunningServer = {
  ctx: AppContext;
  listeners: HttpsListeners;
  address: AddressInfo;
  stop(): Promise<void>;
};

/** Opens the store, prepares keys and certificates, and serves HTTPS. */
export async function startServer(config: Config, logger: Logger, clock?: Clock, promoted?: () => Promise<void>): Promise<RunningServer> {
  // In a cluster the start-up writes below can only run once this node is Active (see src/ha/cluster-server.ts).
  const started = performance.now();
  const cluster = ClusterRuntime.detect(config, logger);
  // A supervisor's spare waits here: in a cluster with everything read-only prepared; on a stand-alone
  // server with nothing opened (the embedded store admits one process).
  await cluster?.prepare(clock);
  await promoted?.();
  const prepared = await cluster?.untilFirstActive(clock);
  const store = prepared?.store ?? (await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: config.dbPoolSize }));
  const storeReady = performance.now();
  const ctx = prepared?.ctx ?? (await createContext(config, store, logger, clock));
  const bootstrap = await ctx.users.ensureBootstrapAdmin(config.adminPassword);
  if (bootstrap.generatedPassword) {
    const file = handOverInitialPassword(config.dataDir, bootstrap.generatedPassword, process.stdout.isTTY ? process.stdout : undefined);
    logger.warn({ file }, 'bootstrap admin "admin" created: its password is in this file; change it after the first login');
  }
  const hostCommonName = await ctx.hcn.initialize(config.initialHostCommonName);
  await ctx.settings.initialize(INSTALLED_AT_KEY, ctx.clock().toISOString());
  const ca = await ctx.pki.ca();
  const tls = await ctx.pki.tlsCredential(hostCommonName);
  await ctx.pki.writeCertificates(config.certsDir, hostCommonName);
  const listeners = new HttpsListeners(cluster ? cluster.gate(prepared!.app) : createApp(ctx), { key: exportKey(tls.key), cert: tls.certPem + ca.certPem }, config.http);
  // A new Host Common Name (set here or by the other node of a cluster) reaches new connections without a restart.
  const stopCertificateWatch = ctx.hcn.serveCertificates(tls, (next) =>
    listeners.setCertificate({ key: exportKey(next.key), cert: next.certPem + ca.certPem }),
  );
  const stopIdempotencyCleanup = ctx.idempotency.startCleanup(undefined, (err) => logger.warn({ err }, 'idempotency cleanup failed'));
  const address = await listeners.listen(config.bind, config.port);
  await cluster?.serving(listeners, ctx);
  // In a cluster the HA feature runs the scheduler while this node is Active.
  if (!cluster) ctx.syncScheduler.start();
  const stopSyncFollow = cluster ? undefined : followSyncPause(ctx.syncPause, ctx.syncScheduler, () => true, logger);
  // Where a start's time went: load = from the process's start to here (node and our modules).
  const startupMs = { load: Math.round(started), store: Math.round(storeReady - started), prepare: Math.round(performance.now() - storeReady) };
  logger.info({ address: `${address.address}:${address.port}`, store: store.kind, hostCommonName, startupMs }, 'slm-onprem listening');
  // Not in the JSON log: a person reads it (on a terminal, or in the journal after the first start).
  if (bootstrap.generatedPassword || (config.logLevel !== 'silent' && (process.stdout.isTTY || bootstrap.created))) {
    process.stdout.write(startBanner({ config, hostCommonName, port: address.port, store: store.kind, generatedPassword: bootstrap.generatedPassword }) + '\n');
  }

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      await cluster?.stop();
      stopCertificateWatch();
      stopSyncFollow?.();
      await ctx.syncScheduler.stop();
      stopIdempotencyCleanup();
      await listeners.close(undefined, config.shutdownGraceSeconds * 1000);
      await store.close();
    })());
  return { ctx, listeners, address, stop };
}

export const exportKey = (key: import('node:crypto').KeyObject) => key.export({ type: 'pkcs8', format: 'pem' }) as string;
