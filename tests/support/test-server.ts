import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { loadConfig } from '../../src/config/config';
import { createLogger } from '../../src/config/logger';
import { startServer, type RunningServer } from '../../src/server';
import type { Clock } from '../../src/clock';
import { createTestDatabase } from './postgres';

export const ADMIN_PASSWORD = 'admin-password-for-tests';

export type TestServer = RunningServer & {
  url: string;
  ca: string;
  dataDir: string;
  /** supertest bound to the server's HTTPS URL, trusting its CA. */
  http(): request.Agent;
  login(username?: string, password?: string): Promise<string>;
  close(): Promise<void>;
};

/**
 * Starts the real server on port 0 over HTTPS: on a fresh PostgreSQL database by default,
 * or on the embedded store with `{ embedded: true }`.
 */
export async function startTestServer(
  opts: { embedded?: boolean; env?: Record<string, string>; clock?: Clock; databaseUrl?: string } = {},
): Promise<TestServer> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'slm-test-'));
  const databaseUrl = opts.embedded ? undefined : (opts.databaseUrl ?? (await createTestDatabase()));
  const config = loadConfig({
    SLM_PORT: '0',
    SLM_BIND: '127.0.0.1',
    SLM_DATA_DIR: dataDir,
    SLM_CERTS_DIR: path.join(dataDir, 'certs'),
    SLM_ADMIN_PASSWORD: ADMIN_PASSWORD,
    SLM_LOG_LEVEL: 'silent',
    SLM_SHUTDOWN_GRACE_SECONDS: '1',
    SLM_VALIDATE_RESPONSES: 'true',
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    ...opts.env,
  });
  // SLM_TEST_LOG=error (or another level) shows the test servers' logs, e.g. the stack behind an unexpected 500.
  const server = await startServer(config, createLogger((process.env.SLM_TEST_LOG ?? 'silent') as Parameters<typeof createLogger>[0]), opts.clock);
  const url = `https://127.0.0.1:${server.address.port}`;
  const ca = readFileSync(path.join(dataDir, 'certs', 'ca.pem'), 'utf8');
  const http = () => request.agent(url).ca(ca);
  return {
    ...server,
    url,
    ca,
    dataDir,
    http,
    login: async (username = 'admin', password = ADMIN_PASSWORD) => {
      const res = await http().post('/api/v1/auth/login').send({ username, password });
      if (res.status !== 200) throw new Error(`login failed: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body.token as string;
    },
    close: async () => {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
