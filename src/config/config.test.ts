import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from './config';

const dataDir = () => mkdtempSync(path.join(os.tmpdir(), 'cfg-'));

describe('loadConfig', () => {
  test('When nothing is set, then the defaults apply and a KEK is generated into the data directory', () => {
    const dir = dataDir();
    const config = loadConfig({ SLM_DATA_DIR: dir });
    expect(config.port).toBe(8443);
    expect(config.databaseUrl).toBeUndefined();
    expect(config.kek).toHaveLength(32);
    expect(loadConfig({ SLM_DATA_DIR: dir }).kek).toEqual(config.kek);
    expect(config.dbPoolSize).toBe(10);
    expect(loadConfig({ SLM_DATA_DIR: dir, SLM_DB_POOL_SIZE: '4' }).dbPoolSize).toBe(4);
  });

  test.each([
    ['SLM_PORT', 'eighty'],
    ['SLM_PORT', '70000'],
    ['DATABASE_URL', 'mysql://x'],
    ['SLM_KEK', 'short'],
    ['SLM_LOG_LEVEL', 'loud'],
    ['SLM_ADMIN_PASSWORD', 'short'],
    ['SLM_UPSTREAM_URL', 'not a url'],
    ['SLM_DUAL_STACK', 'maybe'],
    ['SLM_DB_POOL_SIZE', '0'],
    ['SLM_HTTP_MAX_CONNECTIONS', '0'],
    ['SLM_HTTP_IDLE_TIMEOUT_SECONDS', 'forever'],
    ['SLM_LOGIN_MAX_FAILURES_PER_ADDRESS', '-1'],
  ])('When %s is %s, then loading fails naming the variable', (name, value) => {
    expect(() => loadConfig({ SLM_DATA_DIR: dataDir(), [name]: value })).toThrow(new RegExp(name));
  });

  test('When the header timeout exceeds the request timeout, then loading fails naming the header timeout', () => {
    expect(() => loadConfig({ SLM_DATA_DIR: dataDir(), SLM_HTTP_HEADERS_TIMEOUT_SECONDS: '90', SLM_HTTP_REQUEST_TIMEOUT_SECONDS: '60' })).toThrow(/SLM_HTTP_HEADERS_TIMEOUT_SECONDS/);
  });
});
