import { createPrivateKey, createPublicKey, KeyObject, randomUUID, X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ResponseVerificationError, signJws, verifyServerResponse } from '../transport/jws';
import { isResponseSigningCertificate } from '../pki/response-signing';
import { createCsr, generateProductKey, type ProductKeyType } from './csr';

/**
 * A product instance as transport-protocol.md describes it, for the `slm product` commands, the
 * benchmarks and the cluster tests. It keeps its key, instance id, certificate and the CA chain it
 * received in a state directory, verifies every server answer against that CA, and resends the
 * same message on timeouts, connection errors, 429 and 503.
 *
 * Trust: the first register trusts `trustedCa` when given (e.g. the server's certs/ca.pem) and
 * refuses answers not issued by it; without it, it trusts on first use the CA at the end of the
 * answer's x5c chain, and checks that `caChain` names the same CA. Afterwards only the stored CA
 * is trusted. The same CA is used to verify the server's TLS certificate (the server issues both).
 * An answer counts only when the certificate that signed it has the response-signing purpose
 * (RESPONSE_SIGNING_EKU): a chain to the CA alone would also admit another product's ID certificate.
 */

export type Udi = { pid: string; sn: string };
export type EntitlementReport = { tag: string; count: number };
export type RetryPolicy = { attempts: number; baseDelayMs: number; maxDelayMs: number; timeoutMs: number };

export type SimulatorState = {
  url: string;
  aud: string;
  udi: Udi;
  hostname: string;
  productType: string;
  softwareVersion?: string;
  keyType: ProductKeyType;
  privateKeyPem: string;
  trustedCaPem?: string;
  instanceId?: string;
  idCertificate?: string;
  caChain?: string[];
  renewAfter?: string;
  lastAuthorization?: Record<string, unknown>;
  status?: 'REGISTERED' | 'DEREGISTERED';
};

export type SimulatorOptions = {
  url: string;
  udi: Udi;
  hostname: string;
  productType: string;
  softwareVersion?: string;
  keyType?: ProductKeyType;
  /** An existing key (benchmarks pre-generate keys); default: a new one of `keyType`. */
  privateKey?: KeyObject;
  /** PEM of the CA to trust from the first message on. */
  trustedCa?: string;
  /** `aud` claim; default: the host of `url`. */
  aud?: string;
  stateDir?: string;
};

export class TransportError extends Error {
  name = 'TransportError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(`${code}: ${message}`);
  }
}

const DEFAULT_RETRY: RetryPolicy = { attempts: 6, baseDelayMs: 250, maxDelayMs: 8_000, timeoutMs: 10_000 };
const RETRYABLE_NETWORK = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED', 'SOCKET_TIMEOUT']);
const STATE_FILE = 'state.json';

export class ProductSimulator {
  private key: KeyObject;
  private csrCache?: { pem: string; key: KeyObject };
  retry: RetryPolicy = { ...DEFAULT_RETRY };
  /** Network-level attempts made by the last `send` (1 when the first attempt was answered). */
  lastAttempts = 0;
  clock: () => Date = () => new Date();
  agent?: https.Agent;

  private constructor(
    readonly state: SimulatorState,
    private readonly stateDir?: string,
  ) {
    this.key = createPrivateKey(state.privateKeyPem);
  }

  static create(opts: SimulatorOptions): ProductSimulator {
    const keyType = opts.keyType ?? (opts.privateKey?.asymmetricKeyType === 'rsa' ? 'rsa' : 'ec');
    const key = opts.privateKey ?? generateProductKey(keyType);
    const sim = new ProductSimulator(
      {
        url: opts.url,
        aud: opts.aud ?? new URL(opts.url).hostname.replace(/^\[|\]$/g, ''),
        udi: opts.udi,
        hostname: opts.hostname,
        productType: opts.productType,
        softwareVersion: opts.softwareVersion,
        keyType,
        privateKeyPem: key.export({ type: 'pkcs8', format: 'pem' }) as string,
        trustedCaPem: opts.trustedCa,
      },
      opts.stateDir,
    );
    sim.save();
    return sim;
  }

  static load(stateDir: string): ProductSimulator {
    const file = path.join(stateDir, STATE_FILE);
    if (!existsSync(file)) throw new Error(`no product state in ${stateDir}: run "slm product register" first`);
    return new ProductSimulator(JSON.parse(readFileSync(file, 'utf8')) as SimulatorState, stateDir);
  }

  get instanceId(): string | undefined {
    return this.state.instanceId;
  }

  /** The CSR for the current key (computed once: benchmarks pre-build it before timing). */
  csr(): string {
    if (this.csrCache?.key !== this.key) {
      this.csrCache = { key: this.key, pem: createCsr(this.key, `UDI_PID:${this.state.udi.pid} UDI_SN:${this.state.udi.sn}`, createPublicKey(this.key)) };
    }
    return this.csrCache.pem;
  }

  registerMessage(idToken: string): string {
    return this.message('register', {
      idToken,
      udi: this.state.udi,
      productType: this.state.productType,
      hostname: this.state.hostname,
      ...(this.state.softwareVersion ? { softwareVersion: this.state.softwareVersion } : {}),
      csr: this.csr(),
    });
  }

  async register(idToken: string): Promise<Record<string, unknown>> {
    const claims = await this.send(this.registerMessage(idToken));
    const instance = claims.productInstance as { id: string };
    this.state.instanceId = instance.id;
    this.state.idCertificate = claims.idCertificate as string;
    this.state.caChain = claims.caChain as string[];
    this.state.renewAfter = claims.renewAfter as string;
    this.state.status = 'REGISTERED';
    this.save();
    return claims;
  }

  /** Renews the ID certificate, with a new key pair when `newKey` (the message is signed by the old one). */
  async renew(opts: { newKey?: boolean } = {}): Promise<Record<string, unknown>> {
    const next = opts.newKey ? generateProductKey(this.state.keyType) : undefined;
    const csr = next ? createCsr(next, `UDI_PID:${this.state.udi.pid} UDI_SN:${this.state.udi.sn}`, createPublicKey(next)) : undefined;
    const claims = await this.send(this.message('renew', csr ? { csr } : {}));
    if (next) {
      this.key = next;
      this.state.privateKeyPem = next.export({ type: 'pkcs8', format: 'pem' }) as string;
    }
    this.state.idCertificate = claims.idCertificate as string;
    this.state.renewAfter = claims.renewAfter as string;
    this.save();
    return claims;
  }

  authorizeMessage(entitlements: EntitlementReport[]): string {
    return this.message('authorize', { entitlements });
  }

  async authorize(entitlements: EntitlementReport[]): Promise<Record<string, unknown>> {
    const claims = await this.send(this.authorizeMessage(entitlements));
    this.state.lastAuthorization = claims;
    this.save();
    return claims;
  }

  async deregister(): Promise<Record<string, unknown>> {
    const claims = await this.send(this.message('deregister', {}));
    this.state.status = 'DEREGISTERED';
    this.save();
    return claims;
  }

  /** A signed message of this product; `overrides` replace claims (tests use it for bad messages). */
  message(typ: string, claims: Record<string, unknown>, overrides: Record<string, unknown> = {}): string {
    const now = Math.floor(this.clock().getTime() / 1000);
    const header = typ === 'register' ? {} : { kid: this.requireInstance() };
    return signJws({ typ, jti: randomUUID(), iat: now, aud: this.state.aud, ...claims, ...overrides }, this.key, header);
  }

  /**
   * Sends one message (resending exactly the same bytes on retryable failures) and returns the
   * verified claims of the answer. Error answers throw TransportError with the server's code.
   */
  async send(message: string): Promise<Record<string, unknown>> {
    const body = JSON.stringify({ message });
    let lastError: unknown;
    for (let attempt = 1; ; attempt++) {
      this.lastAttempts = attempt;
      let waitMs = Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);
      try {
        const answer = await this.post(body);
        if (answer.status === 200 && typeof answer.json.response === 'string') return this.verifyAnswer(answer.json.response, message);
        const error = (answer.json.error ?? {}) as { code?: string; message?: string };
        lastError = new TransportError(answer.status, error.code ?? 'HTTP_ERROR', error.message ?? `HTTP ${answer.status}`, answer.retryAfter);
        if (answer.status !== 503 && answer.status !== 429) throw lastError;
        if (answer.retryAfter) waitMs = Math.min(answer.retryAfter * 1000, 60_000);
      } catch (err) {
        if (err === lastError || !RETRYABLE_NETWORK.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
        lastError = err;
      }
      if (attempt >= this.retry.attempts) throw lastError;
      await sleep(waitMs);
    }
  }

  /** The claims of a server answer to `message`, or an error when the answer is not the server's. */
  verifyAnswer(response: string, message: string): Record<string, unknown> {
    const trusted = this.state.caChain?.at(-1) ?? this.state.trustedCaPem ?? trustOnFirstUse(response);
    const claims = verifyServerResponse(response, trusted, this.clock());
    // The CA also issues every product's ID certificate: only the response-signing purpose marks the server.
    if (!isResponseSigningCertificate(new X509Certificate(Buffer.from(x5c(response)[0], 'base64')))) {
      throw new ResponseVerificationError('server response is not signed by a response-signing certificate');
    }
    const sent = JSON.parse(Buffer.from(message.split('.')[1], 'base64url').toString('utf8')) as { jti: string };
    if (claims.requestJti !== sent.jti) throw new Error(`server answered jti ${String(claims.requestJti)} instead of ${sent.jti}`);
    const chain = claims.caChain as string[] | undefined;
    if (chain && !sameCertificate(chain.at(-1)!, trusted)) throw new Error('caChain does not end in the CA that signed the answer');
    return claims;
  }

  private post(body: string): Promise<{ status: number; json: Record<string, unknown>; retryAfter?: number }> {
    const ca = this.state.caChain?.at(-1) ?? this.state.trustedCaPem;
    return new Promise((resolve, reject) => {
      const req = https.request(
        this.state.url,
        {
          method: 'POST',
          agent: this.agent,
          ...(ca ? { ca } : {}),
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
          timeout: this.retry.timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            let json: Record<string, unknown> = {};
            try {
              json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            } catch {
              json = { error: { code: 'HTTP_ERROR', message: `HTTP ${res.statusCode}: not JSON` } };
            }
            resolve({ status: res.statusCode ?? 0, json, retryAfter: Number(res.headers['retry-after']) || undefined });
          });
        },
      );
      req.on('timeout', () => req.destroy(Object.assign(new Error('request timed out'), { code: 'SOCKET_TIMEOUT' })));
      req.on('error', reject);
      req.end(body);
    });
  }

  private requireInstance(): string {
    if (!this.state.instanceId) throw new Error('this product is not registered');
    return this.state.instanceId;
  }

  save(): void {
    if (!this.stateDir) return;
    mkdirSync(this.stateDir, { recursive: true, mode: 0o700 });
    const file = path.join(this.stateDir, STATE_FILE);
    writeFileSync(`${file}.tmp`, JSON.stringify(this.state, null, 2), { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
  }
}

const x5c = (response: string): string[] => {
  const header = JSON.parse(Buffer.from(response.split('.')[0], 'base64url').toString('utf8')) as { x5c?: string[] };
  if (!header.x5c?.length) throw new ResponseVerificationError('server answer has no x5c chain');
  return header.x5c;
};

function trustOnFirstUse(response: string): string {
  const top = x5c(response).at(-1)!;
  return `-----BEGIN CERTIFICATE-----\n${top.replace(/.{1,64}/g, '$&\n')}-----END CERTIFICATE-----\n`;
}

const sameCertificate = (a: string, b: string) => a.replace(/\s/g, '') === b.replace(/\s/g, '');
