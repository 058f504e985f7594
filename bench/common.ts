import { readdirSync, readFileSync } from 'node:fs';
import https from 'node:https';
import { Client } from 'pg';
import { startPostgres, type PgInstance } from '../tests/support/postgres';
import { spawnServer, type ServerProcess } from '../tests/support/spawn-server';

/** What both benchmarks share: a throwaway PostgreSQL, the built server as a child process, an admin session. */

export const ADMIN_PASSWORD = 'bench-admin-password';
export const TRANSPORT_PATH = '/Transportgateway/services/DeviceRequestHandler';

export type BenchEnv = {
  pg: PgInstance;
  databaseUrl: string;
  server: ServerProcess;
  agent: https.Agent;
  admin: string;
  call<T = Record<string, unknown>>(method: string, path: string, body?: unknown, bearer?: string): Promise<{ status: number; body: T }>;
  stop(): Promise<void>;
};

/** BENCH_CPU_PROF=<dir>: node's --cpu-prof for the processes a benchmark starts (written when they stop). */
export function profileArgs(): string[] {
  return process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
}

export async function startBenchEnv(extraEnv: Record<string, string> = {}, keepAlive = true): Promise<BenchEnv> {
  // BENCH_PG_STATS=1: pg_stat_statements, for the profile of what the database spends per statement.
  const pg = await startPostgres(process.env.BENCH_PG_STATS ? '-c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all' : '');
  const admin = new Client({ connectionString: pg.url() });
  await admin.connect();
  await admin.query('CREATE DATABASE bench');
  await admin.end();
  if (process.env.BENCH_PG_STATS) await pgStatements(pg.url('bench'), 'CREATE EXTENSION pg_stat_statements');
  const databaseUrl = pg.url('bench');
  let server: ServerProcess;
  try {
    server = await spawnServer({
      DATABASE_URL: databaseUrl,
      SLM_ADMIN_PASSWORD: ADMIN_PASSWORD,
      SLM_TRANSPORT_RATE_LIMIT: '100000000',
      ...extraEnv,
    }, undefined, profileArgs());
  } catch (err) {
    pg.stop();
    throw err;
  }
  const agent = new https.Agent({ keepAlive, maxSockets: 256, ca: server.ca });
  const call = <T>(method: string, path: string, body?: unknown, bearer?: string) =>
    request<T>(agent, server.url, method, path, body, bearer);
  const login = await call<{ token: string }>('POST', '/api/v1/auth/login', { username: 'admin', password: ADMIN_PASSWORD });
  return {
    pg,
    databaseUrl,
    server,
    agent,
    admin: login.body.token,
    call,
    stop: async () => {
      agent.destroy();
      await server.stop();
      pg.stop();
    },
  };
}

export function request<T>(agent: https.Agent, base: string, method: string, path: string, body?: unknown, bearer?: string): Promise<{ status: number; body: T }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = https.request(new URL(path, base), {
      method,
      agent,
      headers: {
        ...(payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}),
        ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
      },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        resolve({ status: res.statusCode ?? 0, body: (text ? JSON.parse(text) : undefined) as T });
      });
      res.on('error', reject);
    });
    // A kept-alive socket the server closed while idle: resend once (every call here may be resent).
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNRESET' && req.reusedSocket) request<T>(agent, base, method, path, body, bearer).then(resolve, reject);
      else reject(err);
    });
    req.end(payload);
  });
}

/** Creates and approves an account, imports licenses and returns registration tokens. */
export async function seedAccount(env: BenchEnv, account: string, licenses: { tag: string; quantity: number }[], tokens: number) {
  const ok = (res: { status: number; body: unknown }, what: string) => {
    if (res.status >= 300) throw new Error(`${what}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body as Record<string, unknown>;
  };
  ok(await env.call('POST', '/api/v1/accounts', { name: account }, env.admin), 'account');
  ok(await env.call('POST', `/api/v1/accounts/${account}/approve`, {}, env.admin), 'approve');
  ok(await env.call('POST', '/api/v1/licenses/import', {
    licenses: licenses.map((l) => ({ account, virtualAccount: 'Default', tag: l.tag, displayName: l.tag, billingType: 'PERPETUAL', quantity: l.quantity })),
  }, env.admin), 'import');
  const result: string[] = [];
  for (let i = 0; i < tokens; i++) {
    const t = ok(await env.call('POST', `/api/v1/accounts/${account}/virtual-accounts/Default/tokens`, { description: `bench ${i}`, expiresInDays: 30, maxUses: 100000 }, env.admin), 'token');
    result.push(t.token as string);
  }
  return result;
}

export function percentile(sortedMs: number[], p: number): number {
  if (sortedMs.length === 0) return NaN;
  return sortedMs[Math.min(sortedMs.length - 1, Math.ceil((p / 100) * sortedMs.length) - 1)];
}

/** Runs `items` through `worker` with `concurrency` in flight; returns throughput, latency percentiles and the sorted latencies (ms). */
export async function measure<T>(items: T[], concurrency: number, worker: (item: T, slot: number) => Promise<void>) {
  const latencies: number[] = [];
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, slot) => {
      while (next < items.length) {
        const item = items[next++];
        const t0 = process.hrtime.bigint();
        await worker(item, slot);
        latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
    }),
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  latencies.sort((a, b) => a - b);
  return { count: items.length, perSecond: items.length / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99), latencies };
}

export const fmt = (n: number, digits = 1) => n.toFixed(digits).padStart(8);

export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
}

/** CPU seconds a process has used (user + system), from /proc. */
export function cpuSecondsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** CPU seconds the PostgreSQL server has used: the postmaster and its live children (the pool's backends live through a run). */
export function pgCpuSecondsOf(pg: PgInstance): number {
  const postmaster = Number(readFileSync(`${pg.dir}/data/postmaster.pid`, 'utf8').split('\n')[0]);
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const fields = readFileSync(`/proc/${entry}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
      if (Number(entry) === postmaster || Number(fields[1]) === postmaster) total += (Number(fields[11]) + Number(fields[12])) / 100;
    } catch {
      // the process ended while we looked
    }
  }
  return total;
}

/** Busy and total CPU time of the whole machine, to tell a saturated host from a slow server. */
export function machineCpu(): { busy: number; total: number } {
  const [, ...values] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const n = values.map(Number);
  const idle = n[3] + n[4];
  const total = n.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** Runs one statement on the bench database; with BENCH_PG_STATS, topStatements() lists what PostgreSQL spent most time on. */
export async function pgStatements<T = Record<string, unknown>>(url: string, sql: string): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

export async function topStatements(env: BenchEnv, limit = 8): Promise<string[]> {
  if (!process.env.BENCH_PG_STATS) return [];
  const rows = await pgStatements<{ ms: number; calls: number; query: string }>(env.databaseUrl,
    `SELECT round(total_exec_time::numeric, 0)::float AS ms, calls::int AS calls, regexp_replace(query, '\\s+', ' ', 'g') AS query
       FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'bench')
      ORDER BY total_exec_time DESC LIMIT ${limit}`);
  return rows.map((r) => `${String(r.ms).padStart(8)} ms ${String(r.calls).padStart(7)} calls  ${r.query.slice(0, 110)}`);
}
