import { readFileSync, existsSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import tls, { type PeerCertificate } from 'node:tls';

/** `servername`: the name the server's certificate must carry when it is not the URL's host. */
export type ApiOptions = { url: string; user: string; password?: string; ca?: string; servername?: string };

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

  /**
   * Called only after the chain verified against the CA. A node reached by its own address after
   * teardown still presents the certificate naming the old VIP: with `--servername` that name is
   * checked instead; without it the CLI goes on (the chain is this installation's own CA) and says so.
   */
  private checkIdentity(host: string, cert: PeerCertificate): Error | undefined {
    const wanted = this.opts.servername ?? host;
    const mismatch = tls.checkServerIdentity(wanted, cert);
    if (!mismatch || this.opts.servername) return mismatch;
    if (!this.warned) {
      this.warned = true;
      console.error(`Note: the server's certificate does not name ${host} (${cert.subjectaltname ?? cert.subject?.CN}); its chain verifies against the CA, so continuing (use --servername <name> to check a name).`);
    }
    return undefined;
  }

  private warned = false;

  private async login() {
    if (!this.opts.password) throw new Error('set SLM_ADMIN_PASSWORD (or --password) to log in');
    const res = await this.call<{ token: string }>('POST', '/api/v1/auth/login', {
      username: this.opts.user,
      password: this.opts.password,
    });
    this.session = res.token;
  }
}
