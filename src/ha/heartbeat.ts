import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AppError } from '../errors';
import type { SystemInfo } from './system-info';
import type { Role } from './cluster-state';

/**
 * Node-to-node messages over the cluster addresses (plain HTTP on the cluster network), each one
 * authenticated with the shared cluster key: HMAC-SHA256 over time, method, path and body, so a
 * message cannot be forged, altered, moved to another path, or replayed after `maxSkewMs`.
 */
export const SIGNATURE_HEADER = 'x-slm-ha-signature';
const MAX_SKEW_MS = 30_000;

export function sign(key: Buffer, method: string, path: string, body: string, nowMs: number): string {
  const mac = createHmac('sha256', key).update(`${nowMs}.${method} ${path}.${body}`).digest('hex');
  return `t=${nowMs},s=${mac}`;
}

export function verify(key: Buffer, header: string | undefined, method: string, path: string, body: string, nowMs: number): boolean {
  const m = /^t=(\d{1,16}),s=([0-9a-f]{64})$/.exec(header ?? '');
  if (!m) return false;
  const t = Number(m[1]);
  if (Math.abs(nowMs - t) > MAX_SKEW_MS) return false;
  const expected = Buffer.from(sign(key, method, path, body, t).slice(-64), 'hex');
  return timingSafeEqual(expected, Buffer.from(m[2], 'hex'));
}

export type Heartbeat = { node: string; role: Role; system: SystemInfo; sentAt: string };

/** What this node knows about its peer from the heartbeats it received. */
export class PeerLink {
  lastReceivedAt?: number;
  last?: Heartbeat;

  constructor(private readonly timeoutMs = 3000) {}

  record(beat: Heartbeat, nowMs: number) {
    this.last = beat;
    this.lastReceivedAt = nowMs;
  }

  connected(nowMs: number): boolean {
    return this.lastReceivedAt !== undefined && nowMs - this.lastReceivedAt <= this.timeoutMs;
  }
}

type Handler = (body: unknown) => unknown;

/** The cluster-address listener: signed requests in, signed answers out; anything else is 401/404. */
export class ClusterEndpoint {
  private server?: http.Server;

  constructor(private readonly key: Buffer, private readonly routes: Record<string, Handler>) {}

  async listen(host: string, port: number): Promise<AddressInfo> {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > 256 * 1024) req.destroy();
        else chunks.push(c);
      });
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const route = `${req.method} ${req.url}`;
        const reply = (status: number, value: unknown) => {
          const text = JSON.stringify(value);
          res.writeHead(status, { 'content-type': 'application/json', [SIGNATURE_HEADER]: sign(this.key, 'RESPONSE', req.url ?? '', text, Date.now()) });
          res.end(text);
        };
        const handler = this.routes[route];
        if (!handler) return reply(404, { error: { code: 'NOT_FOUND', message: route } });
        if (!verify(this.key, req.headers[SIGNATURE_HEADER] as string | undefined, req.method ?? '', req.url ?? '', body, Date.now())) {
          return reply(401, { error: { code: 'HA_SIGNATURE_INVALID', message: 'not signed with this cluster key' } });
        }
        Promise.resolve()
          .then(() => handler(body ? JSON.parse(body) : undefined))
          .then((value) => reply(200, value), (err) => {
            const e = err instanceof AppError ? err : new AppError('INVALID_MESSAGE', 400, 'malformed cluster message');
            reply(e.status, { error: { code: e.code, message: e.message } });
          });
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    this.server = server;
    return server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Sends one signed request to the peer's cluster endpoint and checks the peer signed the answer. */
export function signedRequest<T>(key: Buffer, host: string, port: number, method: 'GET' | 'POST', path: string, value?: unknown, timeoutMs = 1000): Promise<T> {
  const body = value === undefined ? '' : JSON.stringify(value);
  return new Promise<T>((resolve, reject) => {
    const req = http.request(
      { host, port, method, path, timeout: timeoutMs, headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: sign(key, method, path, body, Date.now()) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (!verify(key, res.headers[SIGNATURE_HEADER] as string | undefined, 'RESPONSE', path, text, Date.now())) {
            return reject(new AppError('HA_SIGNATURE_INVALID', 502, `the peer at ${host}:${port} did not sign with this cluster key (different keys?)`));
          }
          const parsed = JSON.parse(text);
          if (res.statusCode !== 200) return reject(new AppError(parsed.error?.code ?? 'HA_PEER_ERROR', 502, parsed.error?.message ?? `peer answered ${res.statusCode}`));
          resolve(parsed as T);
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => reject(new AppError('HA_PEER_UNREACHABLE', 503, `cannot reach the peer at ${host}:${port}: ${err.message}`)));
    req.end(body);
  });
}
