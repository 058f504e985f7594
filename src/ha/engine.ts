import { execFile, execFileSync, spawn } from 'node:child_process';
import { appendFileSync, chownSync, closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { letOthersPass } from '../store/data-dir';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { AppError } from '../errors';

const run = promisify(execFile);

export const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';
export const PG_AUTOCTL = process.env.SLM_PG_AUTOCTL ?? 'pg_autoctl';

/** True when the pg_auto_failover CLI is installed (the cluster test suite and commands need it). */
export function engineInstalled(): boolean {
  try {
    execFileSync(PG_AUTOCTL, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The monitor's timing GUCs in ms (all reloadable); see docs/ha.md "Failover timing". */
export type FailoverTimings = { period: number; timeout: number; retries: number; retryDelay: number; unhealthy: number; demote: number; grace: number };

/**
 * The monitor GUC profiles (docs/ha.md "Failover timing" has the measurements). Detection (health
 * checks and node_considered_unhealthy_timeout) decides which stalls of a live primary turn into a
 * false failover; primary_demote_timeout only makes the monitor wait for a primary that does not
 * answer, which the servers' lease covers (cluster-state.ts monitorAnswerTrusted), so "fast" keeps
 * it at 1 s. "fast": the peer has the VIP 3.4-3.8 s (median) after a node dies, and a primary
 * survives stalls of up to 3 s; "aggressive" halves detection (the VIP moves in 2.5 s) but fails a primary over after
 * a 1.5-2 s stall. "default" is pg_auto_failover's own (about 51 s).
 */
export const FAILOVER_PROFILES: Record<'default' | 'fast' | 'aggressive', FailoverTimings | null> = {
  default: null,
  fast: { period: 1000, timeout: 1000, retries: 1, retryDelay: 500, unhealthy: 2000, demote: 1000, grace: 2000 },
  aggressive: { period: 500, timeout: 500, retries: 1, retryDelay: 250, unhealthy: 1000, demote: 1000, grace: 2000 },
};
export type FailoverProfile = keyof typeof FAILOVER_PROFILES;

export function failoverProfileSql(profile: FailoverProfile | FailoverTimings): string[] {
  const p = typeof profile === 'string' ? FAILOVER_PROFILES[profile] : profile;
  const names = {
    period: 'health_check_period', timeout: 'health_check_timeout', retries: 'health_check_max_retries',
    retryDelay: 'health_check_retry_delay', unhealthy: 'node_considered_unhealthy_timeout',
    demote: 'primary_demote_timeout', grace: 'startup_grace_period',
  } as const;
  const statements = (Object.keys(names) as (keyof typeof names)[]).map((k) =>
    p ? `ALTER SYSTEM SET pgautofailover.${names[k]} = ${p[k]}` : `ALTER SYSTEM RESET pgautofailover.${names[k]}`,
  );
  return [...statements, 'SELECT pg_reload_conf()'];
}

/**
 * pg_autoctl, run as the postgres OS user (PostgreSQL refuses root) with a self-contained XDG tree
 * under `root`, so its config, state and pid files stay with the node's data instead of ~postgres.
 */
export class PgAutoctl {
  constructor(readonly root: string) {}

  private get isRoot() {
    return process.getuid?.() === 0;
  }

  /** Creates the engine's folders, owned by postgres when we are root. */
  prepare(...dirs: string[]): void {
    mkdirSync(path.dirname(this.root), { recursive: true, mode: 0o711 });
    // The data directory is private (0700) since the store made it so; postgres must pass through it.
    if (this.isRoot) letOthersPass(path.resolve(this.root, '..', '..'), path.dirname(this.root));
    for (const dir of [this.root, ...['home', 'config', 'data', 'run', 'logs'].map((d) => path.join(this.root, d)), ...dirs]) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      if (this.isRoot) chownSync(dir, ...postgresIds());
    }
  }

  env(): Record<string, string> {
    return {
      HOME: path.join(this.root, 'home'),
      XDG_CONFIG_HOME: path.join(this.root, 'config'),
      XDG_DATA_HOME: path.join(this.root, 'data'),
      XDG_RUNTIME_DIR: path.join(this.root, 'run'),
      PATH: `${PG_BIN}:/usr/bin:/bin`,
      PGCONNECT_TIMEOUT: '2',
    };
  }

  private argv(cmd: string, args: string[]): [string, string[]] {
    const envArgs = Object.entries(this.env()).map(([k, v]) => `${k}=${v}`);
    return this.isRoot ? ['runuser', ['-u', 'postgres', '--', 'env', ...envArgs, cmd, ...args]] : ['env', [...envArgs, cmd, ...args]];
  }

  /** Runs a command as postgres; a failure becomes ENGINE_FAILED carrying the command's last output lines. */
  async exec(cmd: string, args: string[], timeoutMs = 120_000): Promise<string> {
    const [file, argv] = this.argv(cmd, args);
    try {
      const { stdout } = await run(file, argv, { cwd: '/tmp', timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 });
      return stdout;
    } catch (err) {
      const e = err as { stderr?: string; stdout?: string; message: string };
      const tail = `${e.stderr ?? ''}${e.stdout ?? ''}`.trim().split('\n').slice(-8).join('\n');
      throw new AppError('ENGINE_FAILED', 500, `${cmd} ${args.slice(0, 2).join(' ')} failed: ${tail || e.message}`);
    }
  }

  autoctl(args: string[], timeoutMs?: number): Promise<string> {
    return this.exec(PG_AUTOCTL, args, timeoutMs);
  }

  /**
   * A planned switchover (the monitor orchestrates it). The monitor's perform_failover can lose a
   * deadlock against a keeper's concurrent report ("deadlock detected ... waits for ExclusiveLock on
   * advisory lock", seen once in a CI run); PostgreSQL then rolled it back whole, so it is tried again.
   */
  async switchover(pgdata: string): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.autoctl(['perform', 'switchover', '--pgdata', pgdata, '--wait', '60'], 90_000);
        return;
      } catch (err) {
        if (attempt >= 3 || !/deadlock detected|waits for \w+Lock/.test((err as Error).message)) throw err;
        await sleep(500);
      }
    }
  }

  async createMonitor(o: { pgdata: string; host: string; port: number }): Promise<void> {
    this.prepare(path.dirname(o.pgdata));
    await this.autoctl(['create', 'monitor', '--pgdata', o.pgdata, '--pgport', String(o.port), '--hostname', o.host,
      '--auth', 'trust', '--ssl-self-signed', '--pgctl', path.join(PG_BIN, 'pg_ctl')]);
    // "create monitor" has no --listen: without this it would listen on every address.
    await this.autoctl(['config', 'set', '--pgdata', o.pgdata, 'postgresql.listen_addresses', o.host]);
    this.smallConf(o.pgdata);
  }

  /**
   * Registers a PostgreSQL node: an existing stopped PGDATA is adopted as the first node (primary),
   * a missing one is cloned from the current primary when the keeper runs.
   */
  async createNode(o: { pgdata: string; host: string; port: number; name: string; monitorUri: string }): Promise<void> {
    this.prepare(path.dirname(o.pgdata));
    await this.autoctl(['create', 'postgres', '--pgdata', o.pgdata, '--pgport', String(o.port), '--hostname', o.host,
      '--listen', o.host, '--name', o.name, '--monitor', o.monitorUri, '--auth', 'trust', '--no-ssl',
      '--pgctl', path.join(PG_BIN, 'pg_ctl')]);
    if (existsSync(path.join(o.pgdata, 'postgresql.conf'))) this.smallConf(o.pgdata);
  }

  /**
   * pg_autoctl sizes shared_buffers at 25 % of RAM; two or three instances on one host would not fit.
   * wal_retrieve_retry_interval: a promoting standby otherwise waits up to 5 s before it retries WAL.
   */
  smallConf(pgdata: string): void {
    const conf = path.join(pgdata, 'postgresql.conf');
    if (readFileSync(conf, 'utf8').includes('# slm-onprem ha')) return;
    appendFileSync(conf, "\n# slm-onprem ha\nshared_buffers = '128MB'\nmax_connections = 100\neffective_cache_size = '1GB'\n" +
      "maintenance_work_mem = '64MB'\nwal_retrieve_retry_interval = '500ms'\n");
  }

  pidFile(pgdata: string): string {
    return path.join(this.root, 'run', `pg_autoctl${pgdata}`, 'pg_autoctl.pid');
  }

  servicePid(pgdata: string): number | undefined {
    try {
      const pid = Number(readFileSync(this.pidFile(pgdata), 'utf8').split('\n')[0]);
      return pid > 0 && alive(pid) ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  /** Starts `pg_autoctl run` for the PGDATA, detached from us (it outlives this command). */
  async startService(pgdata: string): Promise<number> {
    const existing = this.servicePid(pgdata);
    if (existing) return existing;
    const log = path.join(this.root, 'logs', `${path.basename(path.dirname(pgdata))}.log`);
    // argv, no shell: the paths and SLM_PG_AUTOCTL are data, never code. detached = its own session.
    const [file, argv] = this.argv(PG_AUTOCTL, ['run', '--pgdata', pgdata]);
    const out = openSync(log, 'a', 0o600);
    try {
      spawn(file, argv, { cwd: '/tmp', detached: true, stdio: ['ignore', out, out] }).unref();
    } finally {
      closeSync(out);
    }
    for (let i = 0; i < 100; i++) {
      const pid = this.servicePid(pgdata);
      if (pid) return pid;
      await sleep(100);
    }
    throw new AppError('ENGINE_FAILED', 500, `pg_autoctl did not start for ${pgdata}; see ${log}`);
  }

  /** Graceful stop; after the timeout the service and its postmaster are killed. */
  async stopService(pgdata: string, timeoutMs = 30_000): Promise<void> {
    const pid = this.servicePid(pgdata);
    if (!pid) return;
    await this.autoctl(['stop', '--pgdata', pgdata]).catch(() => undefined);
    const deadline = Date.now() + timeoutMs;
    while (alive(pid) && Date.now() < deadline) await sleep(100);
    if (alive(pid)) this.killService(pgdata);
  }

  /** kill -9 of the keeper tree and the postmaster: what a crashed host looks like to the others. */
  killService(pgdata: string): number[] {
    return this.signalService(pgdata, 'SIGKILL');
  }

  /**
   * Sends a signal to the keeper tree and the postmaster with its backends (SIGSTOP/SIGCONT: a
   * stalled node), and to the `runuser` that launched the keeper: it stops itself when its child
   * stops (as su does) and would stay stopped, never reaping it. Returns the pids.
   */
  signalService(pgdata: string, signal: NodeJS.Signals): number[] {
    const keeper = this.servicePid(pgdata);
    const roots = [keeper, postmasterPid(pgdata)].filter((p): p is number => p !== undefined);
    const pids = [...new Set([...roots.flatMap((p) => [p, ...descendants(p)]), ...launcherOf(keeper)])];
    for (const p of pids) {
      try {
        process.kill(p, signal);
      } catch {
        /* already gone */
      }
    }
    return pids;
  }

  async pgCtl(args: string[]): Promise<string> {
    return this.exec(path.join(PG_BIN, 'pg_ctl'), args);
  }

  async psql(url: string, sql: string): Promise<string> {
    return this.exec(path.join(PG_BIN, 'psql'), ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-d', url, '-c', sql]);
  }
}

export function postmasterPid(pgdata: string): number | undefined {
  try {
    const pid = Number(readFileSync(path.join(pgdata, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return pid > 0 && alive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function launcherOf(pid: number | undefined): number[] {
  if (!pid) return [];
  try {
    const ppid = execFileSync('ps', ['-o', 'ppid=', '-p', String(pid)], { encoding: 'utf8' }).trim();
    return execFileSync('ps', ['-o', 'comm=', '-p', ppid], { encoding: 'utf8' }).trim() === 'runuser' ? [Number(ppid)] : [];
  } catch {
    return [];
  }
}

function descendants(pid: number): number[] {
  let children: number[] = [];
  try {
    children = execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n').map((s) => Number(s.trim())).filter((n) => n > 0);
  } catch {
    /* no children */
  }
  return children.flatMap((c) => [c, ...descendants(c)]);
}

let ids: [number, number] | undefined;
export function postgresIds(): [number, number] {
  ids ??= [Number(execFileSync('id', ['-u', 'postgres']).toString().trim()), Number(execFileSync('id', ['-g', 'postgres']).toString().trim())];
  return ids;
}

