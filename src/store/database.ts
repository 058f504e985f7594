import path from 'node:path';
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../generated/prisma/client';
import { applyMigrations } from './migrate';
import { pgRunner, pgliteRunner } from './sql-runner';

export type Db = PrismaClient;
export type Store = {
  prisma: PrismaClient;
  kind: 'postgresql' | 'embedded';
  close(): Promise<void>;
};

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
    const adapter = new PrismaPg({ connectionString: opts.databaseUrl, max: opts.poolSize ?? 10 });
    const prisma = new PrismaClient({ adapter });
    return { prisma, kind: 'postgresql', close: () => prisma.$disconnect() };
  }
  const dir = path.join(opts.dataDir, 'pglite');
  mkdirSync(dir, { recursive: true });
  const lite = new PGlite(dir);
  await applyMigrations(pgliteRunner(lite));
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(lite) });
  return {
    prisma,
    kind: 'embedded',
    close: async () => {
      await prisma.$disconnect();
      await lite.close();
    },
  };
}
