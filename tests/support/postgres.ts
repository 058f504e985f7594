import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

export const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';

/** Runs a PostgreSQL binary as the postgres user when we are root (PostgreSQL refuses root). */
export function asPostgres(cmd: string, args: string[], opts: { cwd?: string } = {}): string {
  const isRoot = process.getuid?.() === 0;
  const [file, argv] = isRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
  return execFileSync(file, argv, { encoding: 'utf8', cwd: opts.cwd ?? '/tmp', stdio: ['ignore', 'pipe', 'pipe'] });
}

export async function freePort(host = '127.0.0.1', from = 20000 + Math.floor(Math.random() * 20000)): Promise<number> {
  for (let port = from; port < 65000; port++) {
    const ok = await new Promise<boolean>((resolve) => {
      const srv = net.createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, host, () => srv.close(() => resolve(true)));
    });
    if (ok) return port;
  }
  throw new Error('no free port');
}

export type PgInstance = { url: (db?: string) => string; dir: string; port: number; stop(): void };

/** A throwaway PostgreSQL 15 server on a free loopback port, data in a temp directory. */
export async function startPostgres(extraOptions = ''): Promise<PgInstance> {
  if (!existsSync(path.join(PG_BIN, 'postgres'))) {
    throw new Error(`PostgreSQL 15 server binaries not found in ${PG_BIN} (apt-get install postgresql-15)`);
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'slm-pg-'));
  if (process.getuid?.() === 0) chownSync(dir, Number(execFileSync('id', ['-u', 'postgres']).toString().trim()), Number(execFileSync('id', ['-g', 'postgres']).toString().trim()));
  const port = await freePort();
  asPostgres(path.join(PG_BIN, 'initdb'), ['-D', `${dir}/data`, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  asPostgres(path.join(PG_BIN, 'pg_ctl'), [
    '-D', `${dir}/data`, '-l', `${dir}/log`, '-w', '-t', '60',
    '-o', `-p ${port} -h 127.0.0.1 -k ${dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 -c shared_buffers=128MB ${extraOptions}`,
    'start',
  ]);
  return {
    dir,
    port,
    url: (db = 'postgres') => `postgresql://postgres@127.0.0.1:${port}/${db}`,
    stop: () => {
      spawnSync(process.getuid?.() === 0 ? 'runuser' : path.join(PG_BIN, 'pg_ctl'),
        process.getuid?.() === 0
          ? ['-u', 'postgres', '--', path.join(PG_BIN, 'pg_ctl'), '-D', `${dir}/data`, '-m', 'immediate', '-w', 'stop']
          : ['-D', `${dir}/data`, '-m', 'immediate', '-w', 'stop'], { cwd: '/tmp' });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A fresh, empty database on the suite's PostgreSQL server (see tests/support/global-setup.ts). */
export async function createTestDatabase(): Promise<string> {
  const adminUrl = process.env.SLM_TEST_PG_URL;
  if (!adminUrl) throw new Error('SLM_TEST_PG_URL is not set: run the tests through jest (global setup starts PostgreSQL)');
  const name = `t_${randomBytes(6).toString('hex')}`;
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  return adminUrl.replace(/\/[^/]*$/, `/${name}`);
}
