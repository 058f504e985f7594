import { createHash } from 'node:crypto';
import { constants, cpSync, existsSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { listMigrations } from './migrate';
import { secureDataDir } from './data-dir';
import { StoreLock } from './store-lock';
import { PROJECT_ROOT } from '../config/paths';

type EmbeddedStore = { lite: PGlite; close(): Promise<void> };

/**
 * Opens the embedded store for this process alone (see StoreLock), with a private data directory.
 * A new store starts from the cluster that `npm run build` prepared (scripts/pglite-template.js:
 * initdb, then our migrations) when it was made by the same PGlite from the same migrations:
 * copying it is a fraction of initdb in WASM and of the migrations' DDL there. Every copy shares
 * its system identifier, which nothing in an embedded store uses.
 */
export async function openPglite(dataDir: string): Promise<EmbeddedStore & { copy(): Promise<EmbeddedStore> }> {
  secureDataDir(dataDir);
  const lock = StoreLock.acquire(dataDir);
  try {
    const dir = path.join(dataDir, 'pglite');
    // Copies a backup was reading when its process died (see copyPglite).
    for (const name of readdirSync(dataDir)) {
      if (name.startsWith(`${path.basename(dir)}${SNAPSHOT_SUFFIX}`)) rmSync(path.join(dataDir, name), { recursive: true, force: true });
    }
    if (!existsSync(path.join(dir, 'PG_VERSION')) && templateMatches()) {
      const partial = `${dir}.new`;
      rmSync(partial, { recursive: true, force: true });
      cpSync(PGLITE_TEMPLATE_DIR, partial, { recursive: true, mode: constants.COPYFILE_FICLONE });
      rmSync(path.join(partial, TEMPLATE_MARKER));
      rmSync(dir, { recursive: true, force: true });
      renameSync(partial, dir);
    }
    // Loaded here: a server on PostgreSQL never needs it.
    const { PGlite } = await import('@electric-sql/pglite');
    const lite = new PGlite(dir);
    await lite.waitReady;
    // The template's files and the relcache files the backend just wrote are not private yet.
    secureDataDir(dataDir);
    return {
      lite,
      copy: () => copyPglite(lite, dir),
      close: async () => {
        try {
          await lite.close();
        } finally {
          lock.release();
        }
      },
    };
  } catch (err) {
    lock.release();
    throw err;
  }
}

/**
 * A private copy of the store to read a snapshot from at leisure (a backup), made between two
 * statements: the files then hold every committed transaction (WAL is written at commit), so the
 * copy opens as after a crash, with exactly those. The store waits only while its files are copied
 * (on the same file system, as clones where it allows); a read of the store itself would hold it
 * for the whole backup, and PGlite's in-memory clone() would hold the whole store in memory.
 */
const SNAPSHOT_SUFFIX = '.snapshot-';

async function copyPglite(lite: PGlite, dir: string): Promise<EmbeddedStore> {
  const copyDir = `${dir}${SNAPSHOT_SUFFIX}${process.pid}-${Date.now()}`;
  try {
    await lite._runExclusiveQuery(async () => cpSync(dir, copyDir, { recursive: true, mode: constants.COPYFILE_FICLONE }));
    const { PGlite } = await import('@electric-sql/pglite');
    const copy = new PGlite(copyDir);
    await copy.waitReady;
    return {
      lite: copy,
      close: async () => {
        try {
          await copy.close();
        } finally {
          rmSync(copyDir, { recursive: true, force: true });
        }
      },
    };
  } catch (err) {
    rmSync(copyDir, { recursive: true, force: true });
    throw err;
  }
}

export const PGLITE_TEMPLATE_DIR = path.join(PROJECT_ROOT, 'dist', 'pglite-template');
export const TEMPLATE_MARKER = 'slm-template-pglite-version';

/** What a template is made from: the installed PGlite's version and our migrations. */
export function templateSource(): string {
  const main = require.resolve('@electric-sql/pglite');
  const pkg = path.join(main.slice(0, main.lastIndexOf(`${path.sep}dist${path.sep}`)), 'package.json');
  const migrations = createHash('sha256').update(listMigrations().map((m) => `${m.name} ${m.checksum}`).join('\n')).digest('hex').slice(0, 16);
  return `pglite ${JSON.parse(readFileSync(pkg, 'utf8')).version} migrations ${migrations}`;
}

function templateMatches(): boolean {
  try {
    return readFileSync(path.join(PGLITE_TEMPLATE_DIR, TEMPLATE_MARKER), 'utf8').trim() === templateSource();
  } catch {
    return false;
  }
}
