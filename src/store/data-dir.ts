import { chmodSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';

/** Group and other bits: none may be set on anything the server keeps under its data directory. */
const FOREIGN_BITS = 0o077;

/**
 * Makes the data directory private to this process's user and repairs what is not: folders 0700,
 * files 0600. PGlite's initdb (and so the build's template) leaves its files 0666, and the backend
 * rewrites its relcache files 0644 at every start (Emscripten chmods past the umask), so the embedded
 * store calls this again once PGlite is up; the files PostgreSQL creates later (tables, indexes, WAL
 * segments) it creates 0600 itself. No process-wide umask: the same process makes folders for the
 * HA engine that another user (postgres) must enter.
 *
 * A folder that leads to one owned by another user (the HA engine's, owned by postgres when we run
 * as root) keeps the search bit for others (0711): they can pass through it but not list it.
 */
export function secureDataDir(dataDir: string): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  repair(dataDir, process.getuid?.() ?? 0);
}

/** Returns true when the tree holds something owned by another user. */
function repair(dir: string, uid: number): boolean {
  const stat = lstatSync(dir);
  if (stat.uid !== uid) return true;
  let leadsToForeign = false;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    // A file may go between the listing and its turn (a PostgreSQL of the HA engine runs in here).
    try {
      if (entry.isDirectory()) {
        leadsToForeign = repair(full, uid) || leadsToForeign;
      } else if (entry.isFile()) {
        const file = lstatSync(full);
        if (file.uid !== uid) leadsToForeign = true;
        else if (file.mode & FOREIGN_BITS) chmodSync(full, file.mode & 0o700);
      }
      // Symbolic links, sockets and pipes are left alone: chmod would follow a link out of the tree.
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  const wanted = leadsToForeign ? 0o711 : 0o700;
  if ((stat.mode & 0o777) !== wanted) chmodSync(dir, wanted);
  return leadsToForeign;
}

/**
 * Lets other users pass through (not list) every folder from `inside` up to `dataDir`: the HA
 * engine's folders below belong to postgres when we run as root, and it must reach them.
 */
export function letOthersPass(dataDir: string, inside: string): void {
  const top = path.resolve(dataDir);
  for (let dir = path.resolve(inside); ; dir = path.dirname(dir)) {
    chmodSync(dir, (lstatSync(dir).mode & 0o777) | 0o011);
    if (dir === top || path.dirname(dir) === dir) return;
  }
}
