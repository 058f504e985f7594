import { spawnSync } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { startTestServer, type TestServer } from './support/test-server';
import { inProcessCli } from './support/in-process-cli';
import { licenseFixtures } from './support/license-fixtures';
import { PROJECT_ROOT } from '../src/config/paths';

const ENTRY = path.join(PROJECT_ROOT, 'dist', 'src', 'cli', 'index.js');
/** The compiled CLI as a user runs it (exit codes and help are commander's own, not mockable in-process). */
const slmProcess = (...args: string[]) => spawnSync(process.execPath, [ENTRY, ...args], { encoding: 'utf8', env: { ...process.env, SLM_URL: 'https://127.0.0.1:1' } });

describe('CLI: exit codes, version, help and errors', () => {
  test('When --version is asked, then it prints the package version and exits 0', () => {
    const run = slmProcess('--version');
    expect(run.status).toBe(0);
    expect(run.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  test('When an unknown command is given, with or without --help, then the CLI exits 1 naming it', () => {
    for (const args of [['frobnicate'], ['frobnicate', '--help'], ['account', 'frobnicate', '--help']]) {
      const run = slmProcess(...args);
      expect(run.status).toBe(1);
      expect(run.stderr).toContain("unknown command 'frobnicate'");
    }
    expect(slmProcess('account', '--help').status).toBe(0);
  });

  test('When help is shown, then required options say so; under --json a usage error is JSON', () => {
    expect(slmProcess('token', 'create', '--help').stdout).toMatch(/--description <text>\s+what the token is for \(required\)/);
    const run = slmProcess('token', 'create', 'Acme', '--json');
    expect(run.status).toBe(1);
    expect(JSON.parse(run.stderr.trim()).error).toMatchObject({ code: 'USAGE', message: expect.stringContaining('--description') });
  });

  test('When the CA file is missing or nothing answers, then the error says what to do, as JSON under --json', () => {
    const missing = slmProcess('account', 'list', '--ca', '/no/such/ca.pem', '--password', 'x');
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^CA_FILE_NOT_FOUND: CA certificate \/no\/such\/ca.pem not found/);
    const ca = path.join(PROJECT_ROOT, 'package.json'); // any existing file: the connection fails first
    const down = slmProcess('account', 'list', '--ca', ca, '--password', 'x', '--json');
    expect(down.status).toBe(1);
    expect(JSON.parse(down.stderr.trim()).error.code).toBe('SERVER_UNREACHABLE');
  });
});

describe('CLI: users, password, events, alerts and product instances', () => {
  let server: TestServer;
  let admin: string;
  const cli = inProcessCli();
  const slm = (...args: string[]) => cli.slm(...args, ...cli.adminOptions(server));
  const slmJson = async (...args: string[]) => JSON.parse(await slm(...args, '--json'));

  beforeAll(async () => {
    server = await startTestServer();
    admin = await server.login();
    const fx = licenseFixtures(server, () => admin);
    await fx.account('Acme');
    await fx.importLicenses([{ account: 'Acme', virtualAccount: 'Default', tag: 'UCM_Basic', displayName: 'UCM Basic', billingType: 'PERPETUAL', quantity: 1 }]);
    await fx.setUsage('Acme', 'Default', 'UCM_Basic', 3);
    const now = Date.now();
    await fx.productInstance('Acme', 'Default', 'router-9', { certNotAfter: new Date(now + 300 * 86_400_000), lastContactAt: new Date(now) });
  });
  afterAll(() => server.close());

  test('When an admin creates, lists and deletes a user, then each step shows on the server and a generated password is printed once', async () => {
    const created = await slmJson('users', 'create', 'olga', '--role', 'operator');
    expect(created).toMatchObject({ username: 'olga', role: 'operator', password: expect.any(String) });
    await expect(server.login('olga', created.password)).resolves.toEqual(expect.any(String));
    expect(await slm('users', 'list')).toMatch(/olga\s+operator/);
    await slm('users', 'delete', 'olga');
    expect((await slmJson('users', 'list')).users.map((u: { username: string }) => u.username)).toEqual(['admin']);
    await expect(slm('users', 'create', 'x', '--role', 'root')).rejects.toThrow('exit 1');
    expect(cli.printed()).toContain('role must be admin or operator');
  });

  test('When events are filtered by action prefix and object, then only those are listed', async () => {
    const res = await slmJson('events', '--action', 'user.', '--object', 'olga');
    expect(res.events.map((e: { action: string }) => e.action).sort()).toEqual(['user.create', 'user.delete']);
    expect(await slm('events', '--action', 'account.approve')).toMatch(/admin\s+account\.approve\s+account:Acme\s+success/);
  });

  test('When an admin asks for alerts, then the license shortfall is listed Major first', async () => {
    const table = await slm('alerts', 'Acme');
    expect(table.split('\n')[0]).toMatch(/^severity\s+type\s+virtualAccount\s+source\s+message/);
    expect(table.split('\n')[1]).toMatch(/^Major\s+Insufficient Licenses\s+Default\s+UCM Basic/);
    await expect(slm('alerts', 'Nobody')).rejects.toThrow('exit 1');
    expect(cli.printed()).toMatch(/^ACCOUNT_NOT_FOUND/);
  });

  test('When product instances are listed, shown and removed, then the removal deregisters the instance', async () => {
    const listed = await slmJson('product', 'list', 'Acme');
    expect(listed.productInstances).toEqual([expect.objectContaining({ name: 'router-9', status: 'REGISTERED' })]);
    const id = listed.productInstances[0].id;
    expect(await slm('product', 'show', id)).toMatch(/router-9\s+UCL\s+C9300-24T\/SN-router-9\s+REGISTERED/);
    await slm('product', 'remove', id);
    expect((await slmJson('product', 'show', id)).status).toBe('DEREGISTERED');
    await expect(slm('product', 'remove', id, '--json')).rejects.toThrow('exit 1');
    expect(JSON.parse(cli.printed()).error.code).toBe('PRODUCT_INSTANCE_DEREGISTERED');
  });

  test('When the URL names the server differently, trusts another CA or is not HTTPS, then the error says which', async () => {
    const ca = path.join(server.dataDir, 'certs', 'ca.pem');
    const run = async (url: string, caFile = ca) => {
      await expect(cli.slm('users', 'list', '--url', url, '--password', 'x', '--ca', caFile, '--json')).rejects.toThrow('exit 1');
      return JSON.parse(cli.printed()).error.code;
    };
    expect(await run(server.url.replace('127.0.0.1', 'localhost'))).toBe('TLS_NAME_MISMATCH');
    expect(await run(server.url, path.join(server.dataDir, 'certs', 'server.pem'))).toBe('TLS_UNTRUSTED');
    const plain = http.createServer((_req, res) => res.end('hello'));
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    try {
      expect(await run(`https://127.0.0.1:${(plain.address() as AddressInfo).port}`)).toBe('NOT_AN_SLM_SERVER');
    } finally {
      plain.close();
    }
  });

  test('When a wrong admin password is used, then the CLI prints the server code and exits 1', async () => {
    await expect(cli.slm('users', 'list', '--url', server.url, '--password', 'wrong-password', '--ca', path.join(server.dataDir, 'certs', 'ca.pem'))).rejects.toThrow('exit 1');
    expect(cli.printed()).toMatch(/^INVALID_CREDENTIALS/);
  });
});
