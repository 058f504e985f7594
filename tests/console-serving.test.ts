import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { startTestServer, type TestServer } from './support/test-server';
import { CONSOLE_DIR } from '../src/console/console-routes';

describe('Admin console: static files, client routes and the API side by side', () => {
  let server: TestServer;

  beforeAll(async () => {
    if (!existsSync(path.join(CONSOLE_DIR, 'index.html'))) throw new Error('the console is not built: run npm run build');
    server = await startTestServer();
  });
  afterAll(() => server.close());

  test('When / or a client route is requested, then index.html is served with a CSP that allows no inline script or style', async () => {
    for (const url of ['/', '/admin/accounts', '/licensing/Acme%20Corp/Default/licenses']) {
      const res = await server.http().get(url).set('accept', 'text/html');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.text).toMatch(/<script type="module" crossorigin src="\/assets\/index-[\w-]+\.js"><\/script>/);
      expect(res.text).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/);
      expect(res.text).not.toMatch(/<style|\sstyle=/);
      const csp = res.headers['content-security-policy'];
      expect(csp).toMatch(/default-src 'none'/);
      expect(csp).toMatch(/script-src 'self'(;|$)/);
      expect(csp).toMatch(/style-src 'self'(;|$)/);
      expect(csp).toMatch(/frame-ancestors 'none'/);
      expect(res.headers['cache-control']).toBe('no-cache');
    }
  });

  test('When a built asset is requested, then it is served for a year; a missing one is a JSON 404', async () => {
    const js = readdirSync(path.join(CONSOLE_DIR, 'assets')).find((f) => f.endsWith('.js'))!;
    const res = await server.http().get(`/assets/${js}`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/javascript/);
    expect(res.headers['cache-control']).toMatch(/max-age=31536000.*immutable/);
    const missing = await server.http().get('/assets/nope.js');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('NOT_FOUND');
  });

  test('When server paths or unknown paths are requested, then the API answers them, never the console', async () => {
    for (const url of ['/no/such/page', '/favicon.ico', '/api/v1/nothing-here', '/backend/nothing', '/Transportgateway/services/DeviceRequestHandler', '/SmartTransport', '/oauth/nothing', '/ha/nothing']) {
      const res = await server.http().get(url);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.status).toBeGreaterThanOrEqual(400);
    }
    expect((await server.http().get('/ha/role')).body).toMatchObject({ role: 'standalone' });
    expect((await server.http().get('/api/v1/accounts')).status).toBe(401);
    const post = await server.http().post('/admin/accounts').send({});
    expect(post.headers['content-type']).toMatch(/^application\/json/);
    expect(post.status).toBe(404);
  });

  test('When the CA certificate is downloaded, then it is the PEM products trust, as a file, for operators and admins only', async () => {
    expect((await server.http().get('/api/v1/settings/ca-certificate')).status).toBe(401);
    const res = await server.http().get('/api/v1/settings/ca-certificate').auth(await server.login(), { type: 'bearer' });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/x-pem-file/);
    expect(res.headers['content-disposition']).toBe('attachment; filename="slm-ca.pem"');
    expect(res.text).toBe(server.ca);
  });
});
