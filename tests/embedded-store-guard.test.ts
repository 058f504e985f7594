import { execFile } from 'node:child_process';
import { chmodSync, lstatSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../src/config/paths';
import { spawnServer, type ServerProcess } from './support/spawn-server';

const ENTRY = path.join(PROJECT_ROOT, 'dist', 'src', 'cli', 'index.js');

/** Every path under dir with its permission bits. */
function modes(dir: string): [string, number, boolean][] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    const entry: [string, number, boolean] = [full, lstatSync(full).mode & 0o777, e.isDirectory()];
    return e.isDirectory() ? [entry, ...modes(full)] : [entry];
  });
}

/** Runs the CLI to its end; resolves with its exit code and output. */
async function slm(dataDir: string, ...args: string[]): Promise<{ code: number; out: string }> {
  const env = { ...process.env, SLM_DATA_DIR: dataDir, SLM_CERTS_DIR: path.join(os.tmpdir(), 'slm-certs-refused'), SLM_PORT: '0', SLM_BIND: '127.0.0.1' };
  try {
    const r = await promisify(execFile)(process.execPath, [ENTRY, ...args], { env, timeout: 60_000 });
    return { code: 0, out: r.stdout + r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, out: e.stdout + e.stderr };
  }
}

describe('One process per embedded store, kept private (real processes)', () => {
  let server: ServerProcess;
  // As by default, the public certificates go to a folder of their own, outside the data directory.
  const certs = mkdtempSync(path.join(os.tmpdir(), 'slm-certs-'));
  beforeAll(async () => {
    server = await spawnServer({ SLM_ADMIN_PASSWORD: 'guard-admin-pass', SLM_CERTS_DIR: certs });
  }, 120_000);
  afterAll(async () => {
    await server.stop('SIGKILL');
    rmSync(certs, { recursive: true, force: true });
  });

  test('When the server has started and written, then its data directory is 0700 and every file under it 0600, every folder 0700', async () => {
    const login = await server.http().post('/api/v1/auth/login').send({ username: 'admin', password: 'guard-admin-pass' });
    expect((await server.http().post('/api/v1/accounts').auth(login.body.token, { type: 'bearer' }).send({ name: 'Private' })).status).toBe(201);
    expect(lstatSync(server.dataDir).mode & 0o777).toBe(0o700);
    const loose = modes(server.dataDir).filter(([, mode, isDir]) => mode !== (isDir ? 0o700 : 0o600));
    expect(loose).toEqual([]);
    expect(modes(path.join(server.dataDir, 'pglite')).length).toBeGreaterThan(100);
  });

  test('When a second serve starts on the same store, then it refuses, naming the pid and command of the running server', async () => {
    const second = await slm(server.dataDir, 'serve');
    expect(second.code).toBe(1);
    expect(second.out).toContain(`in use by process ${server.child.pid} (`);
    expect(second.out).toMatch(/index\.js serve\)/);
  });

  test('When `slm db migrate` runs while the server serves, then it refuses with the same message instead of aborting', async () => {
    const migrate = await slm(server.dataDir, 'db', 'migrate');
    expect(migrate.code).toBe(1);
    expect(migrate.out).toContain(`in use by process ${server.child.pid} (`);
    expect(migrate.out).not.toContain('Aborted');
    // The refused process changed nothing: the server still answers.
    expect((await server.http().get('/healthz')).status).toBe(200);
  });

  test('When the server was killed (stale lock) and files were left world-writable, then the next start takes over and repairs them', async () => {
    await server.stop('SIGKILL');
    for (const [p, , isDir] of modes(server.dataDir)) chmodSync(p, isDir ? 0o755 : 0o666);
    chmodSync(server.dataDir, 0o755);
    server = await spawnServer({ SLM_DATA_DIR: server.dataDir, SLM_CERTS_DIR: certs });
    expect(lstatSync(server.dataDir).mode & 0o777).toBe(0o700);
    expect(modes(server.dataDir).filter(([, mode, isDir]) => mode !== (isDir ? 0o700 : 0o600))).toEqual([]);
    const login = await server.http().post('/api/v1/auth/login').send({ username: 'admin', password: 'guard-admin-pass' });
    expect(login.status).toBe(200);
  }, 120_000);
});
