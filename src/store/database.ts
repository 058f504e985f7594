import { createHash } from 'node:crypto';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { Prisma, PrismaClient } from '../generated/prisma/client';
import { applyMigrations } from './migrate';
import { openPglite } from './embedded';
import { pgRunner, pgliteRunner } from './sql-runner';
import { secureDataDir } from './data-dir';

export type Db = PrismaClient;

/** A Prisma unique-constraint violation (P2002): the caller turns it into its own 409. */
export const isUniqueViolation = (err: unknown) => (err as { code?: string }).code === 'P2002';

/**
 * Raw SQL, called like Prisma's (`tx.$queryRaw\`...\`` or with a Prisma.Sql). A Prisma client or
 * transaction client is one; so is the client Store.transaction hands out.
 */
export type SqlTx = {
  $queryRaw<T = unknown>(query: TemplateStringsArray | Prisma.Sql, ...values: unknown[]): Promise<T>;
  $executeRaw(query: TemplateStringsArray | Prisma.Sql, ...values: unknown[]): Promise<number>;
};

export type Store = {
  prisma: PrismaClient;
  kind: 'postgresql' | 'embedded';
  /** Raw SQL outside a transaction (one statement, one snapshot). */
  sql: SqlTx;
  /**
   * A transaction for raw SQL only. On PostgreSQL it runs on a pool connection directly: a Prisma
   * interactive transaction costs ~0.6 ms of CPU more, and each raw statement through Prisma
   * ~0.3 ms more, which on the product-message path was a third of the server's CPU.
   */
  transaction<T>(fn: (tx: SqlTx) => Promise<T>): Promise<T>;
  /**
   * A transaction of two statements in two round trips: BEGIN travels with `first`, COMMIT with
   * the statement `then` computes from `first`'s rows, so rows they lock (hot ones: a virtual
   * account's usage totals) are never held across a round trip. On PostgreSQL each pair is one
   * simple-protocol message, values inlined as literals by node-postgres' own escaping (so the
   * statements' text must not hold `$n` inside quotes: ours are function calls); the embedded store
   * runs them as separate statements. `then` throwing, or either statement failing, rolls back.
   */
  twoStep<R, T>(first: Prisma.Sql, then: (rows: R[]) => Promise<{ result: T; last?: Prisma.Sql }>): Promise<T>;
  /** One REPEATABLE READ, read-only transaction without a time limit (a backup). */
  snapshot<T>(fn: (query: RawQuery) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  /** The PostgreSQL connection pool, read by the metrics (absent on the embedded store). */
  pool?: Pick<pg.Pool, 'totalCount' | 'idleCount' | 'waitingCount'>;
};

/** Plain SQL with $n parameters, rows as the driver returns them. */
export type RawQuery = <R = Record<string, unknown>>(sql: string, params?: unknown[]) => Promise<R[]>;

const SNAPSHOT = 'SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY';

/** How long a transaction waits for a pool connection (as Prisma's maxWait). */
const CONNECTION_WAIT_MS = 15_000;

/**
 * Opens the configured store and brings its schema up to date:
 * PostgreSQL when a URL is given, otherwise the embedded PGlite store under the data directory.
 */
export async function openStore(opts: { databaseUrl?: string; dataDir: string; poolSize?: number; migrate?: boolean }): Promise<Store> {
  if (opts.databaseUrl) {
    secureDataDir(opts.dataDir);
    // A cluster standby's PostgreSQL is read-only: it gets the schema by replication instead.
    if (opts.migrate !== false) {
      const runner = await pgRunner(opts.databaseUrl);
      try {
        await applyMigrations(runner);
      } finally {
        await runner.close();
      }
    }
    // One pool for Prisma and the raw transactions, so together they never exceed poolSize connections.
    const pool = new pg.Pool({ connectionString: opts.databaseUrl, max: opts.poolSize ?? 10 });
    // An idle connection that PostgreSQL ends (a restart, a switchover) is dropped by the pool; unheard,
    // the 'error' event would end the process. Queries still see their own errors.
    pool.on('error', () => undefined);
    const names = preparedStatementNames();
    const adapter = new PrismaPg(pool, { statementNameGenerator: names, disposeExternalPool: true });
    const prisma = new PrismaClient({ adapter });
    return {
      prisma,
      kind: 'postgresql',
      sql: pgSql(pool, names),
      transaction: (fn) => pgTransaction(pool, names, fn),
      twoStep: (first, then) => pgTwoStep(pool, first, then),
      snapshot: (fn) => onConnection(pool, async (client) => {
        await client.query(`BEGIN; ${SNAPSHOT}`);
        const result = await fn(async (sql, params) => (await client.query(sql, params)).rows);
        await client.query('COMMIT');
        return result;
      }),
      close: () => prisma.$disconnect(),
      pool,
    };
  }
  const embedded = await openPglite(opts.dataDir);
  try {
    await applyMigrations(pgliteRunner(embedded.lite));
  } catch (err) {
    await embedded.close();
    throw err;
  }
  const { PrismaPGlite } = await import('pglite-prisma-adapter');
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(embedded.lite) });
  return {
    prisma,
    kind: 'embedded',
    sql: prisma,
    transaction: (fn) => prisma.$transaction(fn),
    twoStep: (first, then) => prisma.$transaction(async (tx) => {
      const { result, last } = await then(await tx.$queryRaw(first));
      if (last) await tx.$executeRaw(last);
      return result;
    }),
    snapshot: async (fn) => {
      const copy = await embedded.copy();
      try {
        return await copy.lite.transaction(async (tx) => {
          await tx.exec(SNAPSHOT);
          return fn(async (sql, params) => (await tx.query<never>(sql, params)).rows);
        });
      } finally {
        await copy.close();
      }
    },
    close: async () => {
      await prisma.$disconnect();
      await embedded.close();
    },
  };
}

type Queryable = Pick<pg.Pool, 'query'>;

/** node-postgres behind the SqlTx calls; statements prepared as Prisma's are. */
function pgSql(client: Queryable, names: (query: { sql: string }) => string): SqlTx {
  const run = (query: TemplateStringsArray | Prisma.Sql, values: unknown[]) => {
    const sql = query instanceof Prisma.Sql ? query : Prisma.sql(query, ...values);
    return client.query({ name: names({ sql: sql.text }), text: sql.text, values: sql.values });
  };
  return {
    $queryRaw: async <T>(query: TemplateStringsArray | Prisma.Sql, ...values: unknown[]) => (await run(query, values)).rows as T,
    $executeRaw: async (query: TemplateStringsArray | Prisma.Sql, ...values: unknown[]) => (await run(query, values)).rowCount ?? 0,
  };
}

async function pgTransaction<T>(pool: pg.Pool, names: (query: { sql: string }) => string, fn: (tx: SqlTx) => Promise<T>): Promise<T> {
  return onConnection(pool, async (client) => {
    await client.query('BEGIN');
    const result = await fn(pgSql(client, names));
    await client.query('COMMIT');
    return result;
  });
}

async function pgTwoStep<R, T>(pool: pg.Pool, first: Prisma.Sql, then: (rows: R[]) => Promise<{ result: T; last?: Prisma.Sql }>): Promise<T> {
  return onConnection(pool, async (client) => {
    const [, firstResult] = (await client.query(`BEGIN; ${inline(first)}`)) as unknown as pg.QueryResult[];
    const { result, last } = await then(firstResult.rows as R[]);
    await client.query(last ? `${inline(last)}; COMMIT` : 'COMMIT');
    return result;
  });
}

/**
 * The statement with its values as untyped literals (as parameters are sent: the statement's casts
 * and function signatures type them), escaped by node-postgres.
 */
function inline(sql: Prisma.Sql): string {
  return sql.text.replace(/\$(\d+)/g, (_, n: string) => {
    const value = sql.values[Number(n) - 1];
    return value === null || value === undefined ? 'NULL' : literal(parameterText(value));
  });
}

/**
 * pg.escapeLiteral's result (quotes doubled; with a backslash, an E'' literal with backslashes
 * doubled too, so it holds whatever standard_conforming_strings says) with native string
 * replacement instead of its character loop, which showed in the profile on answers of kilobytes.
 */
function literal(text: string): string {
  if (text.includes('\u0000')) throw new Error('a NUL character cannot be sent to PostgreSQL');
  const quoted = text.replaceAll("'", "''");
  return text.includes('\\') ? ` E'${quoted.replaceAll('\\', '\\\\')}'` : `'${quoted}'`;
}

/** A value in PostgreSQL's text input form: arrays as array literals, dates in ISO 8601, objects as JSON. */
function parameterText(value: unknown): string {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) {
    return `{${value.map((v) => (v === null || v === undefined ? 'NULL' : `"${parameterText(v).replace(/[\\"]/g, '\\$&')}"`)).join(',')}}`;
  }
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  return String(value);
}

/** Runs `work` on a pool connection (waiting at most CONNECTION_WAIT_MS for one); rolls back if it throws. */
async function onConnection<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const connecting = pool.connect();
  const client = await Promise.race([
    connecting,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no database connection free within ${CONNECTION_WAIT_MS} ms`)), CONNECTION_WAIT_MS);
    }),
  ]).catch((err) => {
    connecting.then((late) => late.release(), () => undefined);
    throw err;
  }).finally(() => clearTimeout(timer));
  let broken: Error | undefined;
  // A connection lost while checked out (a failover, a killed backend) emits 'error' on the client,
  // which would end the process without a listener; the query in flight fails with it anyway.
  const onError = (err: Error) => {
    broken = err;
  };
  client.on('error', onError);
  try {
    return await work(client);
  } catch (err) {
    await client.query('ROLLBACK').catch((rollbackFailed: Error) => {
      broken = rollbackFailed;
    });
    throw err;
  } finally {
    client.removeListener('error', onError);
    // A connection that failed or could not even roll back is closed instead of going back to the pool.
    client.release(broken);
  }
}

/** Distinct statements prepared at most; each stays prepared on every pool connection for its life. */
const MAX_PREPARED_STATEMENTS = 500;

/**
 * Names each statement by a hash of its text, so node-postgres prepares it once per connection and
 * PostgreSQL skips parsing and planning it again (bench:transport: PostgreSQL CPU per authorize
 * 3.1-4.2 -> 1.9-2.2 ms). Past the bound, new statements run unnamed as before.
 */
function preparedStatementNames(): (query: { sql: string }) => string {
  const names = new Map<string, string>();
  return (query) => {
    let name = names.get(query.sql);
    if (!name && names.size < MAX_PREPARED_STATEMENTS) {
      name = `slm_${createHash('sha1').update(query.sql).digest('hex').slice(0, 24)}`;
      names.set(query.sql, name);
    }
    // An unnamed query is what the adapter sends without a generator.
    return name as string;
  };
}
