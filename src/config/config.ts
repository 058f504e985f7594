import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes, X509Certificate } from 'node:crypto';
import path from 'node:path';
import { z } from 'zod';

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

const envFields = z.object({
  SLM_PORT: z.coerce.number().int().min(0).max(65535).default(8443),
  SLM_BIND: z.string().min(1).default('0.0.0.0'),
  SLM_DATA_DIR: z.string().min(1).default('data'),
  SLM_CERTS_DIR: z.string().min(1).default('certs'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgresql:// URL')
    .optional(),
  SLM_HOST_COMMON_NAME: z.string().min(1).max(253).default('127.0.0.1'),
  SLM_KEK: z
    .string()
    .regex(/^[A-Za-z0-9+/]{43}=$/, 'must be 32 bytes in base64 (openssl rand -base64 32)')
    .optional(),
  SLM_ADMIN_PASSWORD: z.string().min(8, 'must be at least 8 characters').optional(),
  SLM_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SLM_SESSION_TTL_SECONDS: z.coerce.number().int().min(60).max(86400).default(3600),
  SLM_ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(60).max(86400).default(3600),
  SLM_BODY_LIMIT: z.string().regex(/^\d+(b|kb|mb)$/i, 'must look like 100kb or 5mb').default('1mb'),
  SLM_LOGIN_MAX_FAILURES: z.coerce.number().int().min(1).default(5),
  SLM_LOGIN_WINDOW_SECONDS: z.coerce.number().int().min(1).default(300),
  SLM_LOGIN_MAX_FAILURES_PER_ADDRESS: z.coerce.number().int().min(1).default(30),
  SLM_OAUTH_MAX_FAILURES: z.coerce.number().int().min(1).default(20),
  SLM_OAUTH_WINDOW_SECONDS: z.coerce.number().int().min(1).default(300),
  SLM_CLOCK_SKEW_SECONDS: z.coerce.number().int().min(1).default(300),
  SLM_TRANSPORT_RATE_LIMIT: z.coerce.number().int().min(1).default(12000),
  SLM_TRANSPORT_FAILURE_LIMIT: z.coerce.number().int().min(1).default(300),
  SLM_DB_POOL_SIZE: z.coerce.number().int().min(1).max(200).default(10),
  // https only: the request carries accounts, e-mails and usage, and the answer changes licenses.
  SLM_UPSTREAM_URL: z.url({ protocol: /^https$/, error: 'must be an https:// URL' }).optional(),
  SLM_UPSTREAM_CA: z.string().min(1).optional(),
  SLM_SYNC_INTERVAL_SECONDS: z.coerce.number().int().min(0).default(86400),
  SLM_DUAL_STACK: bool.default(false),
  SLM_SHUTDOWN_GRACE_SECONDS: z.coerce.number().int().min(0).default(10),
  SLM_HTTP_HEADERS_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(600).default(20),
  SLM_HTTP_REQUEST_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
  SLM_HTTP_KEEP_ALIVE_SECONDS: z.coerce.number().int().min(1).max(3600).default(65),
  SLM_HTTP_IDLE_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(3600).default(120),
  SLM_HTTP_MAX_CONNECTIONS: z.coerce.number().int().min(1).default(4096),
  SLM_VALIDATE_RESPONSES: bool.default(false),
  SLM_METRICS_ACCESS: z.enum(['loopback', 'token', 'open']).default('loopback'),
  SLM_METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters (openssl rand -hex 16)').optional(),
  SLM_METRICS_MAX_ACCOUNTS: z.coerce.number().int().min(0).max(10000).default(100),
  SLM_SUPERVISOR_PROBE_MS: z.coerce.number().int().min(100).max(10_000).default(1000),
  SLM_SUPERVISOR_HUNG_SECONDS: z.coerce.number().min(0.5).max(300).default(3),
  SLM_SUPERVISOR_START_SECONDS: z.coerce.number().min(1).max(3600).default(120),
  SLM_HA_HANDOVER_SECONDS: z.coerce.number().min(1).max(3600).default(5),
  SLM_HA_HANDOVER_CRASHES: z.coerce.number().int().min(2).max(100).default(3),
  SLM_SUPERVISOR_SPARE: bool.default(true),
});

const envSchema = envFields.refine((e) => e.SLM_HTTP_HEADERS_TIMEOUT_SECONDS <= e.SLM_HTTP_REQUEST_TIMEOUT_SECONDS, {
  path: ['SLM_HTTP_HEADERS_TIMEOUT_SECONDS'],
  message: 'must not exceed SLM_HTTP_REQUEST_TIMEOUT_SECONDS',
});

/**
 * What `slm serve --supervised` reads itself. Only these: a server that cannot start because of a
 * bad value elsewhere must still be watched (and its cluster handed over), not take its supervisor down.
 */
const supervisorSchema = envFields.pick({
  SLM_DATA_DIR: true, SLM_PORT: true, SLM_BIND: true, SLM_SUPERVISOR_PROBE_MS: true, SLM_SUPERVISOR_HUNG_SECONDS: true,
  SLM_SUPERVISOR_START_SECONDS: true, SLM_HA_HANDOVER_SECONDS: true, SLM_HA_HANDOVER_CRASHES: true, SLM_SUPERVISOR_SPARE: true,
});

export type SupervisorConfig = {
  dataDir: string;
  port: number;
  bind: string;
  /** Health probe period (and its timeout). */
  probeMs: number;
  /** A server that answered before and then answers no probe for this long is killed (SIGKILL) and restarted. */
  hungMs: number;
  /** A starting server that never answers within this long is killed and restarted. */
  startMs: number;
  /** A cluster node whose server should serve the VIP but has not for this long hands the cluster to its peer. */
  handoverMs: number;
  /** This many exits within a minute on the node that should be Active hand the cluster over at once. */
  handoverCrashes: number;
  /** Keep a second server process loaded and waiting, for a faster restart (costs its memory). */
  keepSpare: boolean;
};

export type Config = {
  port: number;
  bind: string;
  dataDir: string;
  certsDir: string;
  databaseUrl?: string;
  initialHostCommonName: string;
  kek: Buffer;
  adminPassword?: string;
  logLevel: z.infer<typeof envSchema>['SLM_LOG_LEVEL'];
  sessionTtlSeconds: number;
  accessTokenTtlSeconds: number;
  bodyLimit: string;
  loginMaxFailures: number;
  loginWindowSeconds: number;
  /** Failed logins per client address across all usernames per window. */
  loginMaxFailuresPerAddress: number;
  /** Failed OAuth token requests per client address per window. */
  oauthMaxFailures: number;
  oauthWindowSeconds: number;
  clockSkewSeconds: number;
  /** Transport messages accepted per source address per minute. */
  transportRateLimit: number;
  /** Failed transport messages (any 4xx) accepted per source address per minute, counted apart from the rest. */
  transportFailureLimit: number;
  /** PostgreSQL connections of this server (Prisma and the raw hot path share them). */
  dbPoolSize: number;
  upstreamUrl?: string;
  /** PEM CA certificate(s) the upstream's TLS certificate must chain to (SLM_UPSTREAM_CA); unset: system trust store. */
  upstreamCa?: string;
  syncIntervalSeconds: number;
  dualStack: boolean;
  shutdownGraceSeconds: number;
  /** HTTPS listener limits: see HttpsListeners and docs/security.md. */
  http: HttpLimits;
  /** Tests turn this on: a response that does not match openapi.yaml becomes a 500. */
  validateResponses: boolean;
  /** Who may read GET /metrics without a token: loopback clients, nobody, or everyone. */
  metricsAccess: 'loopback' | 'token' | 'open';
  metricsToken?: string;
  /** Accounts named in per-account metric labels; the others add up under one label. */
  metricsMaxAccounts: number;
};

export type HttpLimits = {
  /** TLS handshake plus request headers must arrive within this. */
  headersTimeoutSeconds: number;
  /** A whole request (headers and body) must arrive within this. */
  requestTimeoutSeconds: number;
  /** An idle kept-alive connection between requests is closed after this. */
  keepAliveSeconds: number;
  /** A connection with no traffic at all (no request, no response bytes) is closed after this. */
  idleTimeoutSeconds: number;
  /** Open connections per listener; more are refused at accept. */
  maxConnections: number;
};

export class ConfigError extends Error {
  name = 'ConfigError';
}

/** Parses the environment once; any bad value is reported with the variable's name. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw invalid(parsed.error.issues);
  }
  const e = parsed.data;
  if (e.SLM_METRICS_ACCESS === 'token' && !e.SLM_METRICS_TOKEN) {
    throw new ConfigError('Invalid configuration:\n  SLM_METRICS_TOKEN: required when SLM_METRICS_ACCESS=token');
  }
  const dataDir = path.resolve(e.SLM_DATA_DIR);
  return {
    port: e.SLM_PORT,
    bind: e.SLM_BIND,
    dataDir,
    certsDir: path.resolve(e.SLM_CERTS_DIR),
    databaseUrl: e.DATABASE_URL,
    initialHostCommonName: e.SLM_HOST_COMMON_NAME,
    kek: e.SLM_KEK ? Buffer.from(e.SLM_KEK, 'base64') : loadOrCreateKek(dataDir),
    adminPassword: e.SLM_ADMIN_PASSWORD,
    logLevel: e.SLM_LOG_LEVEL,
    sessionTtlSeconds: e.SLM_SESSION_TTL_SECONDS,
    accessTokenTtlSeconds: e.SLM_ACCESS_TOKEN_TTL_SECONDS,
    bodyLimit: e.SLM_BODY_LIMIT,
    loginMaxFailures: e.SLM_LOGIN_MAX_FAILURES,
    loginWindowSeconds: e.SLM_LOGIN_WINDOW_SECONDS,
    loginMaxFailuresPerAddress: e.SLM_LOGIN_MAX_FAILURES_PER_ADDRESS,
    oauthMaxFailures: e.SLM_OAUTH_MAX_FAILURES,
    oauthWindowSeconds: e.SLM_OAUTH_WINDOW_SECONDS,
    clockSkewSeconds: e.SLM_CLOCK_SKEW_SECONDS,
    transportRateLimit: e.SLM_TRANSPORT_RATE_LIMIT,
    transportFailureLimit: e.SLM_TRANSPORT_FAILURE_LIMIT,
    dbPoolSize: e.SLM_DB_POOL_SIZE,
    upstreamUrl: e.SLM_UPSTREAM_URL,
    upstreamCa: e.SLM_UPSTREAM_CA === undefined ? undefined : readCaFile('SLM_UPSTREAM_CA', e.SLM_UPSTREAM_CA),
    syncIntervalSeconds: e.SLM_SYNC_INTERVAL_SECONDS,
    dualStack: e.SLM_DUAL_STACK,
    shutdownGraceSeconds: e.SLM_SHUTDOWN_GRACE_SECONDS,
    http: {
      headersTimeoutSeconds: e.SLM_HTTP_HEADERS_TIMEOUT_SECONDS,
      requestTimeoutSeconds: e.SLM_HTTP_REQUEST_TIMEOUT_SECONDS,
      keepAliveSeconds: e.SLM_HTTP_KEEP_ALIVE_SECONDS,
      idleTimeoutSeconds: e.SLM_HTTP_IDLE_TIMEOUT_SECONDS,
      maxConnections: e.SLM_HTTP_MAX_CONNECTIONS,
    },
    validateResponses: e.SLM_VALIDATE_RESPONSES,
    metricsAccess: e.SLM_METRICS_ACCESS,
    metricsToken: e.SLM_METRICS_TOKEN,
    metricsMaxAccounts: e.SLM_METRICS_MAX_ACCOUNTS,
  };
}

function readCaFile(variable: string, file: string): string {
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
    new X509Certificate(pem);
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : 'not a readable PEM certificate';
    throw new ConfigError(`Invalid configuration:\n  ${variable}: ${file}: ${why}`);
  }
  return pem;
}

const invalid = (issues: z.core.$ZodIssue[]) =>
  new ConfigError(`Invalid configuration:\n  ${issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n  ')}`);

export function loadSupervisorConfig(env: NodeJS.ProcessEnv = process.env): SupervisorConfig {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([k, v]) => k in supervisorSchema.shape && v !== undefined && v !== ''));
  const parsed = supervisorSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw invalid(parsed.error.issues);
  }
  const e = parsed.data;
  return {
    dataDir: path.resolve(e.SLM_DATA_DIR), port: e.SLM_PORT, bind: e.SLM_BIND, probeMs: e.SLM_SUPERVISOR_PROBE_MS,
    hungMs: e.SLM_SUPERVISOR_HUNG_SECONDS * 1000, startMs: e.SLM_SUPERVISOR_START_SECONDS * 1000,
    handoverMs: e.SLM_HA_HANDOVER_SECONDS * 1000, handoverCrashes: e.SLM_HA_HANDOVER_CRASHES, keepSpare: e.SLM_SUPERVISOR_SPARE,
  };
}

// The KEK never goes into the database: a copy of the database alone must not reveal private keys.
function loadOrCreateKek(dataDir: string): Buffer {
  const file = path.join(dataDir, 'kek');
  if (existsSync(file)) {
    const kek = Buffer.from(readFileSync(file, 'utf8').trim(), 'base64');
    if (kek.length !== 32) throw new ConfigError(`Invalid configuration:\n  ${file}: must hold 32 bytes in base64`);
    return kek;
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const kek = randomBytes(32);
  writeFileSync(file, kek.toString('base64') + '\n', { mode: 0o600 });
  return kek;
}
