import { readFileSync, existsSync } from 'node:fs';
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';

export type ApiOptions = { url: string; user: string; password?: string; ca?: string };

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly details?: Record<string, unknown>) {
    super(message);
  }
}

/**
 * The admin commands talk to a running server over its HTTPS API (the embedded store allows a
 * single process), trusting the server CA written under certs/.
 */
export class ApiClient {
  private session?: string;
  private readonly ca?: Buffer;

  constructor(private readonly opts: ApiOptions) {
    const caFile = opts.ca ?? path.resolve(process.env.SLM_CERTS_DIR ?? 'certs', 'ca.pem');
    this.ca = existsSync(caFile) ? readFileSync(caFile) : undefined;
  }

  async call<T = unknown>(method: string, route: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    if (!this.session && route !== '/api/v1/auth/login') await this.login();
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const url = new URL(route, this.opts.url);
    return new Promise<T>((resolve, reject) => {
      const req = https.request(
        url,
        {
          method,
          ca: this.ca,
          headers: {
            ...(payload !== undefined ? { 'content-type': contentType, 'content-length': Buffer.byteLength(payload) } : {}),
            ...(this.session ? { authorization: `Bearer ${this.session}` } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const json = text ? JSON.parse(text) : undefined;
            if ((res.statusCode ?? 500) >= 400) {
              const err = json?.error ?? {};
              reject(new ApiError(res.statusCode ?? 500, err.code ?? 'HTTP_ERROR', err.message ?? text, err.details));
            } else resolve(json as T);
          });
        },
      );
      req.on('error', (err) => reject(new Error(`cannot reach ${this.opts.url}: ${err.message}`)));
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  /** A GET whose body is streamed (a backup); an error status rejects as call() does. */
  async download(route: string): Promise<IncomingMessage> {
    if (!this.session) await this.login();
    return new Promise((resolve, reject) => {
      const req = https.request(new URL(route, this.opts.url), { method: 'GET', ca: this.ca, headers: { authorization: `Bearer ${this.session}` } }, (res) => {
        if ((res.statusCode ?? 500) < 400) return resolve(res);
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let err: { code?: string; message?: string } = {};
          try {
            err = JSON.parse(text).error ?? {};
          } catch {
            // Not our JSON error: the text itself is the message.
          }
          reject(new ApiError(res.statusCode ?? 500, err.code ?? 'HTTP_ERROR', err.message ?? text));
        });
      });
      req.on('error', (err) => reject(new Error(`cannot reach ${this.opts.url}: ${err.message}`)));
      req.end();
    });
  }

  private async login() {
    if (!this.opts.password) throw new Error('set SLM_ADMIN_PASSWORD (or --password) to log in');
    const res = await this.call<{ token: string }>('POST', '/api/v1/auth/login', {
      username: this.opts.user,
      password: this.opts.password,
    });
    this.session = res.token;
  }
}
