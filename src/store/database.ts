import { createHash } from 'node:crypto';
import path from 'node:path';
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { Prisma, PrismaClient } from '../generated/prisma/client';
import { applyMigrations } from './migrate';
import { pgRunner, pgliteRunner } from './sql-runner';

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
  close(): Promise<void>;
};

/** How long a transaction waits for a pool connection (as Prisma's maxWait). */
const CONNECTION_WAIT_MS = 15_000;

/**
 * Opens the configured store and brings its schema up to date:
 * PostgreSQL when a URL is given, otherwise the embedded PGlite store under the data directory.
 */
export async function openStore(opts: { databaseUrl?: string; dataDir: string; poolSize?: number; migrate?: boolean }): Promise<Store> {
  if (opts.databaseUrl) {
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
      close: () => prisma.$disconnect(),
    };
  }
  const dir = path.join(opts.dataDir, 'pglite');
  mkdirSync(dir, { recursive: true });
  const lite = new PGlite(dir);
  await applyMigrations(pgliteRunner(lite));
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(lite) });
  return {
    prisma,
    kind: 'embedded',
    sql: prisma,
    transaction: (fn) => prisma.$transaction(fn),
    close: async () => {
      await prisma.$disconnect();
      await lite.close();
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
    await client.query('BEGIN');
    const result = await fn(pgSql(client, names));
    await client.query('COMMIT');
    return result;
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
