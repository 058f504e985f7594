import { linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';

export type LockHolder = { pid: number; command: string; startedAt: string; host: string; processStart?: string };

/** Stable code the CLI and tests recognise; the message names the process holding the store. */
export class StoreLockedError extends Error {
  readonly code = 'STORE_LOCKED';
  constructor(readonly lockFile: string, readonly holder: LockHolder) {
    super(
      `the embedded store in ${path.dirname(lockFile)} is in use by process ${holder.pid} (${holder.command}) on ${holder.host} ` +
        `since ${holder.startedAt}: it admits one process at a time. Stop that process first, or use the ` +
        `admin commands, which talk to the running server.`,
    );
    this.name = 'StoreLockedError';
  }
}

/**
 * One process per embedded store: PGlite has no locking of its own, and two processes on one data
 * directory silently lose acknowledged writes. The lock is a file created atomically (a hard link
 * fails if the name exists) that names its process; a lock whose process is gone is taken over.
 */
export class StoreLock {
  private constructor(private readonly file: string, private readonly mine: string) {}

  static acquire(dataDir: string): StoreLock {
    const file = path.join(dataDir, 'store.lock');
    const me: LockHolder = {
      pid: process.pid,
      command: process.argv.map((a, i) => (i === 0 ? path.basename(a) : a)).join(' '),
      startedAt: new Date().toISOString(),
      host: hostname(),
      processStart: processStart(process.pid),
    };
    const mine = JSON.stringify(me) + '\n';
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, mine, { mode: 0o600 });
    try {
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          linkSync(tmp, file);
          return new StoreLock(file, mine);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        }
        const seen = read(file);
        if (seen === undefined) continue;
        const holder = parse(seen);
        if (holder && isAlive(holder)) throw new StoreLockedError(file, holder);
        takeOver(file, seen);
      }
      throw new Error(`could not take the lock ${file}: other processes keep racing for it`);
    } finally {
      unlinkSync(tmp);
    }
  }

  /** Removes the lock if it is still ours. */
  release(): void {
    if (read(this.file) === this.mine) unlinkSync(this.file);
  }
}

/**
 * Moves a stale lock aside; if what was moved is not the stale lock seen (another process took
 * over in between), it is put back and the caller looks again.
 */
function takeOver(file: string, seen: string): void {
  const aside = `${file}.stale.${process.pid}`;
  try {
    renameSync(file, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (read(aside) !== seen) {
    try {
      linkSync(aside, file);
    } catch {
      // Someone else holds it now; they keep it.
    }
  }
  unlinkSync(aside);
}

function read(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function parse(text: string): LockHolder | undefined {
  try {
    const v = JSON.parse(text) as LockHolder;
    return Number.isInteger(v.pid) && v.pid > 0 ? v : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The pid must exist and, where /proc tells, be the same process (not a reused pid). The host name
 * is not compared: a container gets a new one at every re-creation, and a PGlite store is local.
 */
function isAlive(holder: LockHolder): boolean {
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const now = processStart(holder.pid);
  return !holder.processStart || !now || now === holder.processStart;
}

/** The process's start time in clock ticks since boot (Linux), which tells a reused pid apart. */
function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces) start after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}
