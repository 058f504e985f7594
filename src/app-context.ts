import type { Logger } from 'pino';
import { SyncPause } from './ha/sync-pause';
import type { Config } from './config/config';
import type { Store } from './store/database';
import type { Clock } from './clock';
import { KeyVault } from './pki/key-vault';
import { PkiService } from './pki/pki-service';
import { JwtService } from './auth/jwt-service';
import { EventLog } from './events/event-log';
import { UserService } from './users/user-service';
import { SessionService } from './auth/session-service';
import { FailureSampler } from './auth/failure-sampler';
import { SettingsStore } from './config/settings-store';
import { HostCommonNameService } from './hcn/host-common-name';
import { LicenseService } from './licenses/license-service';
import { AccountService } from './accounts/account-service';
import { TokenService } from './tokens/token-service';
import { ApiClientService } from './toolkit/api-client-service';
import { apiClientGuards } from './toolkit/api-client-auth';
import { TransportService } from './transport/transport-service';
import { IdempotencyStore } from './transport/idempotency';
import { ProductService } from './products/product-service';
import { StandaloneHa, type HaView } from './ha/ha-view';
import { SyncService } from './sync/sync-service';
import { SyncScheduler } from './sync/sync-scheduler';
import { ServerMetrics } from './metrics/metrics';
import { BackupService } from './backup/backup-service';

/** Every service of the server, built once from config and store: the composition root. */
export type AppContext = Awaited<ReturnType<typeof createContext>>;

export async function createContext(config: Config, store: Store, logger: Logger, clock: Clock = () => new Date(), ha: HaView = new StandaloneHa(config.dataDir)) {
  const db = store.prisma;
  const pki = new PkiService(db, new KeyVault(config.kek), clock);
  const jwtKey = await pki.jwtKey();
  const jwt = new JwtService(jwtKey.key, jwtKey.publicKey);
  const events = new EventLog(db);
  const settings = new SettingsStore(db);
  // System time, not `clock`: a session row must expire with its JWT, whose exp jsonwebtoken checks against system time.
  const sessions = new SessionService(db, jwt, () => new Date(), config.sessionTtlSeconds);
  const users = new UserService(db, sessions, events, new FailureSampler());
  const hcn = new HostCommonNameService(settings, db, pki, events, clock, { dualStack: config.dualStack, certsDir: config.certsDir, logger });
  const licenses = new LicenseService(db, events, settings, clock, store.sql);
  const accounts = new AccountService(db, events, clock);
  const tokens = new TokenService(db, jwt, accounts, events, clock);
  const apiClients = new ApiClientService(db, jwt, accounts, events, clock, config.accessTokenTtlSeconds, store.sql);
  const apiGuards = apiClientGuards({ jwt, sessions, lookup: (clientId) => apiClients.lookup(clientId) });
  const idempotency = new IdempotencyStore(db, clock);
  const transport = new TransportService({
    store, clock, pki, tokens, licenses, events, idempotency, clockSkewSeconds: config.clockSkewSeconds,
  });
  const products = new ProductService(db, accounts, events, clock);
  const sync = new SyncService(db, settings, hcn, pki, events, clock, { upstreamUrl: config.upstreamUrl, upstreamCa: config.upstreamCa, logger });
  const syncScheduler = new SyncScheduler(sync, settings, clock, logger, { intervalSeconds: config.syncIntervalSeconds });
  const metrics = new ServerMetrics({ db, clock, licenses, sync, settings, ha, pool: store.pool, poolMax: config.dbPoolSize, maxAccounts: config.metricsMaxAccounts });
  const backup = new BackupService(store, config.kek, events, clock);
  return { config, store, db, logger, clock, pki, jwt, events, settings, sessions, users, hcn, sync, syncScheduler, licenses, accounts, tokens, apiClients, apiGuards, idempotency, transport, products, ha, metrics, backup, syncPause: new SyncPause(config.dataDir) };
}
