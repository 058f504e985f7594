import { readFileSync, existsSync } from 'node:fs';
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import tls, { type PeerCertificate } from 'node:tls';

/** `servername`: the name the server's certificate must carry when it is not the URL's host. */
export type ApiOptions = { url: string; user: string; password?: string; ca?: string; servername?: string };

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly details?: Record<string, unknown>) {
    super(message);
  }
}

/** How long to wait for the TCP and TLS handshake; answers themselves may take longer (a sync with retries). */
const CONNECT_TIMEOUT_MS = 10_000;

/** Client-side failures get codes too (status 0), so `--json` and scripts can tell them apart. */
const clientError = (code: string, message: string, details?: Record<string, unknown>) => new ApiError(0, code, message, details);

/** A connection or TLS failure, explained in terms of what to do about it. */
function explain(err: NodeJS.ErrnoException, url: URL, caFile: string): ApiError {
  const code = err.code ?? '';
  if (code === 'ECONNREFUSED') return clientError('SERVER_UNREACHABLE', `nothing answers at ${url.origin} (is the server running? is SLM_URL right?)`);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return clientError('SERVER_UNREACHABLE', `cannot resolve ${url.hostname}`);
  if (code === 'ETIMEDOUT' || code === 'ECONNRESET' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH') {
    return clientError('SERVER_UNREACHABLE', `cannot reach ${url.origin}: ${err.message}`);
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return clientError('TLS_NAME_MISMATCH', `the server's certificate does not name ${url.hostname}: use the Host Common Name in SLM_URL, or --servername <a name it carries> to reach this node by another address (${err.message})`);
  }
  if (code === 'EPROTO' || /wrong version number|packet length too long/i.test(err.message)) {
    return clientError('NOT_AN_SLM_SERVER', `${url.origin} does not speak HTTPS: is SLM_URL the slm-onprem server (https://host:8443)?`);
  }
  if (/certificate|self[- ]signed|issuer/i.test(err.message) || code.startsWith('ERR_TLS') || code.includes('CERT')) {
    return clientError('TLS_UNTRUSTED', `the server's certificate is not issued by the CA in ${caFile} (${err.message}); pass the server's certs/ca.pem with --ca`);
  }
  return clientError('SERVER_UNREACHABLE', `cannot reach ${url.origin}: ${err.message}`);
}

/**
 * The admin commands talk to a running server over its HTTPS API (the embedded store allows a
 * single process), trusting the server CA written under certs/.
 */
type ErrorBody = { error?: { code?: string; message?: string; details?: Record<string, unknown> } };

/** Our `{"error": {code, message}}` answer as an ApiError; Retry-After becomes `details.retryAfterSeconds`. */
function apiErrorOf(status: number, json: ErrorBody | undefined, res: IncomingMessage): ApiError {
  const err = json?.error ?? {};
  const retryAfter = Number(res.headers['retry-after']);
  const details = { ...err.details, ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterSeconds: retryAfter } : {}) };
  return new ApiError(status, err.code ?? 'HTTP_ERROR', err.message ?? `HTTP ${status}`, Object.keys(details).length ? details : undefined);
}

export class ApiClient {
  private session?: string;
  private readonly ca: Buffer;
  private readonly caFile: string;

  constructor(private readonly opts: ApiOptions) {
    this.caFile = path.resolve(opts.ca ?? path.join(process.env.SLM_CERTS_DIR ?? 'certs', 'ca.pem'));
    // Without the CA every call would fail later with an opaque "self-signed certificate in chain".
    if (!existsSync(this.caFile)) {
      throw clientError('CA_FILE_NOT_FOUND', `CA certificate ${this.caFile} not found: pass the server's certs/ca.pem with --ca (or run from the server's directory)`);
    }
    this.ca = readFileSync(this.caFile);
  }

  async call<T = unknown>(method: string, route: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    if (!this.session && route !== '/api/v1/auth/login') await this.login();
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    let url: URL;
    try {
      url = new URL(route, this.opts.url);
    } catch {
      throw clientError('INVALID_URL', `not a URL: ${this.opts.url} (expected https://host:8443)`);
    }
    if (url.protocol !== 'https:') throw clientError('INVALID_URL', `${this.opts.url}: the server is reached over https://`);
    return new Promise<T>((resolve, reject) => {
      const req = https.request(
        url,
        {
          method,
          ca: this.ca,
          checkServerIdentity: (host, cert) => this.checkIdentity(host, cert),
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
            const status = res.statusCode ?? 500;
            let json: ErrorBody | undefined;
            try {
              json = text ? JSON.parse(text) : undefined;
            } catch {
              return reject(clientError('NOT_AN_SLM_SERVER', `${url.origin} answered ${status} with something other than JSON: is SLM_URL the slm-onprem server?`));
            }
            if (status < 400) return resolve(json as T);
            reject(apiErrorOf(status, json, res));
          });
        },
      );
      // An idle timeout until TLS is up, none afterwards: the answer itself may take long.
      req.setTimeout(CONNECT_TIMEOUT_MS, () => req.destroy(Object.assign(new Error(`no connection within ${CONNECT_TIMEOUT_MS / 1000} s`), { code: 'ETIMEDOUT' })));
      // A kept-alive socket is already up; a fresh one is up once TLS is.
      req.on('socket', (socket) => (socket.connecting ? socket.once('secureConnect', () => req.setTimeout(0)) : req.setTimeout(0)));
      req.on('error', (err) => reject(explain(err as NodeJS.ErrnoException, url, this.caFile)));
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  /** A GET whose body is streamed (a backup); an error status rejects as call() does. */
  async download(route: string): Promise<IncomingMessage> {
    if (!this.session) await this.login();
    const url = new URL(route, this.opts.url);
    return new Promise((resolve, reject) => {
      const req = https.request(
        url,
        { method: 'GET', ca: this.ca, checkServerIdentity: (host, cert) => this.checkIdentity(host, cert), headers: { authorization: `Bearer ${this.session}` } },
        (res) => {
          const status = res.statusCode ?? 500;
          if (status < 400) return resolve(res);
          const chunks: Buffer[] = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let json: ErrorBody | undefined;
            try {
              json = JSON.parse(text);
            } catch {
              // Not our JSON error: the status is all there is to say.
            }
            reject(apiErrorOf(status, json, res));
          });
        },
      );
      req.on('error', (err) => reject(explain(err as NodeJS.ErrnoException, url, this.caFile)));
      req.end();
    });
  }

  /**
   * Called only after the chain verified against the CA. A node reached by its own address after
   * teardown still presents the certificate naming the old VIP: `--servername` names what the
   * certificate must carry instead of the URL's host. Never skipped: the same CA issues every
   * product's ID certificate, so the chain alone does not identify the server.
   */
  private checkIdentity(host: string, cert: PeerCertificate): Error | undefined {
    return tls.checkServerIdentity(this.opts.servername ?? host, cert);
  }

  private async login() {
    if (!this.opts.password) throw clientError('PASSWORD_REQUIRED', `set SLM_ADMIN_PASSWORD (or --password) to log in as ${this.opts.user}`);
    const res = await this.call<{ token: string }>('POST', '/api/v1/auth/login', {
      username: this.opts.user,
      password: this.opts.password,
    });
    this.session = res.token;
  }
}
