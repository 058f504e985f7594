import https from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Clock } from '../clock';
import { AppError } from '../errors';
import type { SyncRequest } from './sync-format';

export type UpstreamClientOptions = {
  url: string;
  /** PEM CA certificate(s) the upstream's TLS certificate must chain to; unset: the system trust store. */
  ca?: string;
  logger: Logger;
  /** Attempts per exchange (first try included) and the first backoff delay, doubled each time. */
  attempts?: number;
  backoffMs?: number;
  timeoutMs?: number;
};

/** Where a running exchange stands (the CLI shows it while it waits). */
export type AttemptProgress = { attempt: number; attempts: number; lastError: string | null; nextAttemptAt: string | null };

type Outcome = { ok: true; body: unknown } | { ok: false; retryable: boolean; error: AppError };

// A response document for 10,000 accounts fits well below this; more is not a sync response.
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;
// OpenSSL's verification codes (UNABLE_TO_VERIFY_LEAF_SIGNATURE, CERT_HAS_EXPIRED...) and Node's TLS ones.
const TLS_FAILURE = /CERT|SSL|TLS|EPROTO|UNABLE_TO_|SELF_SIGNED|HOSTNAME/;

/** Credentials in the upstream URL must not leak into status answers or logs. */
export function redactUrl(url: string): string {
  const u = new URL(url);
  return `${u.origin}${u.pathname}`;
}

// Only our own error codes are shown (ECONNREFUSED, CERT_HAS_EXPIRED): never text the peer chose.
const reasonOf = (err: unknown) => {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^[A-Z0-9_]{1,64}$/.test(code) ? code : 'NETWORK_ERROR';
};

/**
 * POSTs a sync request to the upstream over HTTPS and returns its (still unverified) JSON answer.
 * Redirects are never followed (the request carries accounts, e-mails and usage: it goes to the
 * configured host or nowhere). Unreachable, timed-out, 429 and 5xx attempts are retried with the
 * same request; messages carry our reason codes and status numbers, never the upstream's text.
 */
export class UpstreamClient {
  constructor(
    private readonly opts: UpstreamClientOptions,
    private readonly clock: Clock,
  ) {}

  get url(): string {
    return redactUrl(this.opts.url);
  }

  async exchange(request: SyncRequest, signal?: AbortSignal, onProgress?: (p: AttemptProgress) => void): Promise<unknown> {
    const attempts = this.opts.attempts ?? 4;
    const backoffMs = this.opts.backoffMs ?? 2000;
    const body = JSON.stringify(request);
    for (let attempt = 1; ; attempt++) {
      onProgress?.({ attempt, attempts, lastError: null, nextAttemptAt: null });
      const outcome = await this.postOnce(body, signal);
      if (outcome.ok) return outcome.body;
      const { error } = outcome;
      if (!outcome.retryable || attempt >= attempts || signal?.aborted) {
        if (outcome.retryable && attempt > 1) throw new AppError(error.code, error.status, `${error.message}; ${attempt} attempts made`);
        throw error;
      }
      const waitMs = backoffMs * 2 ** (attempt - 1);
      const nextAttemptAt = new Date(this.clock().getTime() + waitMs).toISOString();
      onProgress?.({ attempt, attempts, lastError: `${error.code}: ${error.message}`, nextAttemptAt });
      this.opts.logger.warn({ attempt, attempts, code: error.code, error: error.message }, 'sync: upstream attempt failed, retrying');
      try {
        await sleep(waitMs, undefined, { signal });
      } catch {
        throw error;
      }
    }
  }

  private postOnce(body: string, signal?: AbortSignal): Promise<Outcome> {
    const timeout = AbortSignal.timeout(this.opts.timeoutMs ?? 30_000);
    const fail = (retryable: boolean, code: string, message: string): Outcome => ({ ok: false, retryable, error: new AppError(code, 502, message) });
    return new Promise((resolve) => {
      const req = https.request(
        this.opts.url,
        {
          method: 'POST',
          ...(this.opts.ca ? { ca: this.opts.ca } : {}),
          headers: { 'content-type': 'application/json', accept: 'application/json', 'content-length': Buffer.byteLength(body) },
          signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        },
        (res) => {
          const status = res.statusCode ?? 0;
          if (status >= 300 && status < 400) {
            res.destroy();
            return resolve(fail(false, 'SYNC_UPSTREAM_REDIRECT_REFUSED', `the upstream answered HTTP ${status} (a redirect): redirects are never followed; set SLM_UPSTREAM_URL to the final address`));
          }
          if (status < 200 || status >= 300) {
            res.resume();
            return resolve(fail(status >= 500 || status === 429, 'SYNC_UPSTREAM_ERROR', `the upstream answered HTTP ${status}`));
          }
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size <= MAX_ANSWER_BYTES) return void chunks.push(chunk);
            res.destroy();
            resolve(fail(false, 'SYNC_UPSTREAM_ERROR', `the upstream answer is larger than ${MAX_ANSWER_BYTES} bytes`));
          });
          res.on('error', (err) => resolve(fail(true, 'SYNC_UPSTREAM_UNREACHABLE', `the connection to the upstream ${this.url} broke (${reasonOf(err)})`)));
          res.on('end', () => {
            try {
              resolve({ ok: true, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
            } catch {
              resolve(fail(false, 'SYNC_UPSTREAM_ERROR', 'the upstream answer is not JSON'));
            }
          });
        },
      );
      req.on('error', (err) => {
        if (timeout.aborted) return resolve(fail(true, 'SYNC_UPSTREAM_UNREACHABLE', `the upstream ${this.url} did not answer within ${(this.opts.timeoutMs ?? 30_000) / 1000} s`));
        const reason = reasonOf(err);
        if (TLS_FAILURE.test(reason)) {
          return resolve(fail(false, 'SYNC_UPSTREAM_TLS_FAILED', `TLS with the upstream ${this.url} failed (${reason}): its certificate must be valid for the URL's host and issued by the CA in SLM_UPSTREAM_CA (the system trust store when unset)`));
        }
        resolve(fail(true, 'SYNC_UPSTREAM_UNREACHABLE', `cannot reach the upstream ${this.url} (${reason})`));
      });
      req.end(body);
    });
  }
}
