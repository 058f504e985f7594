import http from 'node:http';
import { Writable } from 'node:stream';
import express from 'express';
import pino from 'pino';
import { AppError } from '../errors';
import { errorHandler } from './error-handler';
import { productMessageLog, requestLog, warmUpHeaders } from './request-log';

type Line = { level: number; msg: string; err?: unknown; code?: string; req?: unknown };
const LEVEL = { debug: 20, info: 30, warn: 40, error: 50 };

/** An app with the real request log and error handler, logging into memory. */
async function withApp(
  fn: (get: (path: string, headers?: Record<string, string>) => Promise<http.IncomingHttpHeaders>, lines: Line[]) => Promise<void>,
  opts: { level: string; log: typeof requestLog } = { level: 'debug', log: requestLog },
) {
  const lines: Line[] = [];
  const sink = new Writable({ write: (chunk, _enc, done) => (lines.push(JSON.parse(String(chunk))), done()) });
  const logger = pino({ level: opts.level }, sink);
  const app = express();
  app.use(opts.log(logger));
  app.get('/ok', (_req, res) => void res.json({}));
  app.get('/denied', () => {
    throw new AppError('AUTHENTICATION_REQUIRED', 401, 'log in');
  });
  app.get('/upstream', () => {
    throw new AppError('SYNC_UPSTREAM_UNREACHABLE', 502, 'cannot reach the upstream');
  });
  app.get('/standby', () => {
    throw new AppError('NOT_ACTIVE_NODE', 503, 'use the VIP');
  });
  app.get('/bug', () => {
    throw new TypeError('undefined is not a function');
  });
  app.use(errorHandler(logger));
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const get = (path: string, headers: Record<string, string> = {}) =>
    new Promise<http.IncomingHttpHeaders>((resolve) => http.get({ host: '127.0.0.1', port, path, headers }, (res) => res.resume().on('end', () => resolve(res.headers))));
  try {
    await fn(get, lines);
  } finally {
    server.close();
  }
}

describe('request log', () => {
  test('When requests succeed or fail as expected, then each logs one line at info or warn with its code and no stack', async () => {
    await withApp(async (get, lines) => {
      for (const path of ['/ok', '/denied', '/upstream', '/standby']) await get(path);
      await new Promise((r) => setImmediate(r));
      expect(lines.map((l) => [l.level, l.msg])).toEqual([
        [LEVEL.info, expect.stringMatching(/^GET \/ok 200 \d+ms$/)],
        [LEVEL.warn, expect.stringMatching(/^GET \/denied 401 \d+ms AUTHENTICATION_REQUIRED$/)],
        [LEVEL.warn, 'GET /upstream 502 SYNC_UPSTREAM_UNREACHABLE'],
        [LEVEL.warn, 'GET /standby 503 NOT_ACTIVE_NODE'],
      ]);
      expect(lines.every((l) => l.err === undefined && !JSON.stringify(l).includes('stack'))).toBe(true);
    });
  });

  test('When our code throws, then the fault is logged once at error with its stack and the request line at error', async () => {
    await withApp(async (get, lines) => {
      await get('/bug');
      await new Promise((r) => setImmediate(r));
      const errors = lines.filter((l) => l.level === LEVEL.error);
      expect(errors.map((l) => l.msg)).toEqual(['request failed', 'GET /bug 500 INTERNAL_ERROR']);
      expect(JSON.stringify(errors[0].err)).toContain('undefined is not a function');
      expect(errors[1].err).toBeUndefined();
    });
  });

  test("When the server's own warm-up request arrives, then it is not logged; a made-up warm-up header is", async () => {
    await withApp(async (get, lines) => {
      await get('/denied', warmUpHeaders());
      await get('/denied', { 'x-slm-warm-up': 'guess' });
      await new Promise((r) => setImmediate(r));
      expect(lines).toHaveLength(1);
    });
  });

  test('When product messages are logged at the default level, then answered ones write nothing, refused ones the same line as the request log, and all carry X-Request-Id', async () => {
    const seen: Line[][] = [];
    for (const opts of [{ level: 'info', log: productMessageLog }, { level: 'info', log: requestLog }]) {
      await withApp(async (get, lines) => {
        const answered = await get('/ok');
        expect(answered['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
        expect((await get('/denied', { 'x-request-id': 'product-42' }))['x-request-id']).toBe('product-42');
        await get('/standby');
        await new Promise((r) => setImmediate(r));
        seen.push(lines);
      }, opts);
    }
    const [light, full] = seen.map((lines) => lines.map((l) => ({ level: l.level, msg: l.msg.replace(/\d+ms/, 'Nms'), code: l.code, id: (l.req as { id?: string } | undefined)?.id })));
    expect(light).toEqual([
      { level: LEVEL.warn, msg: 'GET /denied 401 Nms AUTHENTICATION_REQUIRED', code: 'AUTHENTICATION_REQUIRED', id: 'product-42' },
      { level: LEVEL.warn, msg: 'GET /standby 503 NOT_ACTIVE_NODE', code: 'NOT_ACTIVE_NODE', id: expect.any(String) },
    ]);
    expect(light.map(({ level, msg, code }) => ({ level, msg, code }))).toEqual(full.filter((l) => l.level >= LEVEL.warn).map(({ level, msg, code }) => ({ level, msg, code })));
  });
});
