import { execFileSync } from 'node:child_process';
import https from 'node:https';
import path from 'node:path';
import { spawnServer, type ServerProcess } from './support/spawn-server';

const PASSWORD = 'embedded-admin-pass';

describe('Stand-alone server process on the embedded store (no DATABASE_URL)', () => {
  let server: ServerProcess;
  beforeAll(async () => {
    server = await spawnServer({ SLM_ADMIN_PASSWORD: PASSWORD });
  }, 120_000);
  afterAll(() => server.stop('SIGKILL'));

  test('When started without DATABASE_URL, then it serves HTTPS with a certificate openssl verifies', async () => {
    expect(server.output()).toContain('"store":"embedded"');
    const certs = path.join(server.dataDir, 'certs');
    const out = execFileSync('openssl', ['verify', '-CAfile', path.join(certs, 'ca.pem'), path.join(certs, 'server.pem')], { encoding: 'utf8' });
    expect(out).toContain('server.pem: OK');
    const login = await server.http().post('/api/v1/auth/login').send({ username: 'admin', password: PASSWORD });
    expect(login.status).toBe(200);
    const users = await server.http().get('/api/v1/users').auth(login.body.token, { type: 'bearer' });
    expect(users.body.users.map((u: { username: string }) => u.username)).toEqual(['admin']);
  });

  test('When SIGTERM arrives during a request, then the request completes and the process exits 0', async () => {
    const agent = new https.Agent({ ca: server.ca, keepAlive: true });
    const inFlight = new Promise<number>((resolve, reject) => {
      const req = https.request(`${server.url}/api/v1/auth/login`, { method: 'POST', agent, headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      // Send the body slowly so the request is still in flight when the signal lands.
      req.write('{"username":"admin",');
      setTimeout(() => {
        server.child.kill('SIGTERM');
        setTimeout(() => req.end(`"password":"${PASSWORD}"}`), 300);
      }, 200);
    });
    expect(await inFlight).toBe(200);
    expect(await server.stop()).toBe(0);
    agent.destroy();
  });
});
