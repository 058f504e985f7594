/**
 * TEST AND DEMO FIXTURE: a reference upstream that plays the vendor cloud from a JSON purchases
 * file. It is not a vendor implementation and holds no real data: it answers sync requests with
 * the purchases it was given, approves the account names it is told to, signs the server's CA
 * certificate with a throwaway CA of its own and signs every answer with its own response key.
 * Used by the tests (as a library), by `slm upstream` (HTTPS, network sync demos) and
 * `slm upstream answer` (manual round trip).
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { NAME_PATTERN } from '../accounts/account-rules';
import { issueCertificate } from '../pki/x509';
import { signResponse, type SignedResponse } from './signed-response';
import { SYNC_FORMAT_VERSION, syncLicenseLineSchema, syncRequestSchema, type SyncResponse } from './sync-format';
import { generateUpstreamKeys, issueTlsCertificate, loadOrCreateUpstreamKeys, signingPublicKeyPem, UPSTREAM_CA, type UpstreamKeys } from './reference-upstream-keys';

const DAY_MS = 86_400_000;

/** What a test makes the next HTTP answer be instead of the signed response (a redirect, an unsigned body...). */
export type OverrideAnswer = (request: unknown) => { status: number; headers?: Record<string, string>; body: unknown };

const purchasesSchema = z
  .object({
    smartAccounts: z.array(
      z
        .object({
          name: z.string().min(1).max(200),
          /** Local account names (as the server requests them) to approve into this smart account. */
          approve: z.array(z.string().regex(NAME_PATTERN)).default([]),
          virtualAccounts: z.array(
            z.object({ name: z.string().regex(NAME_PATTERN), licenses: z.array(syncLicenseLineSchema) }).strict(),
          ),
        })
        .strict(),
    ),
    signCaCertificate: z.boolean().default(true),
  })
  .strict();

export type Purchases = z.input<typeof purchasesSchema>;

export class ReferenceUpstream {
  private purchases!: z.output<typeof purchasesSchema>;
  /** Every request received, newest last (tests look at what the server sent). */
  readonly received: unknown[] = [];
  /** Answers the next N HTTP requests with 503, to exercise the server's retries. */
  failNext = 0;
  /** Answers the next HTTP request with this instead (then clears itself). */
  overrideNext?: OverrideAnswer;

  constructor(
    purchases: Purchases,
    readonly keys: UpstreamKeys = generateUpstreamKeys(),
  ) {
    this.setPurchases(purchases);
  }

  /** The CA of its HTTPS certificate (the server's SLM_UPSTREAM_CA). */
  get caCertificatePem(): string {
    return this.keys.caCertPem;
  }

  /** The key its answers are signed with (what the admin installs). */
  get signingPublicKeyPem(): string {
    return signingPublicKeyPem(this.keys);
  }

  /** What the vendor cloud holds from now on (tests change purchases between syncs). */
  setPurchases(purchases: Purchases): void {
    const parsed = purchasesSchema.safeParse(purchases);
    if (!parsed.success) throw new Error(`invalid purchases: ${describeIssues(parsed.error)}`);
    this.purchases = parsed.data;
  }

  /** With keys kept in `keyDir` (created on first use), so every run signs with the same key. */
  static fromFiles(purchasesFile: string, keyDir: string): ReferenceUpstream {
    return new ReferenceUpstream(JSON.parse(readFileSync(purchasesFile, 'utf8')), loadOrCreateUpstreamKeys(keyDir));
  }

  /** The signed answer to one request (what goes over the network or into a response file). */
  answer(body: unknown, now = new Date()): SignedResponse {
    return this.sign(this.answerDocument(body, now));
  }

  /** Signs any document with the fixture's response key (tests sign documents they spoiled). */
  sign(document: unknown): SignedResponse {
    return signResponse(document, this.keys.signingKey);
  }

  /**
   * The answer document to one request: each requested account that a smart account approves (or
   * that is already linked to it by name) gets that smart account's virtual accounts and license lines.
   */
  answerDocument(body: unknown, now = new Date()): SyncResponse {
    const parsed = syncRequestSchema.safeParse(body);
    if (!parsed.success) throw new Error(`not a sync request: ${describeIssues(parsed.error)}`);
    const request = parsed.data;
    const accounts: SyncResponse['accounts'] = [];
    for (const account of request.accounts) {
      const sa = this.purchases.smartAccounts.find((s) => s.approve.includes(account.name) || s.name === account.smartAccount);
      if (sa) accounts.push({ name: account.name, smartAccount: sa.name, approved: true, virtualAccounts: sa.virtualAccounts });
    }
    return {
      formatVersion: SYNC_FORMAT_VERSION,
      requestId: request.requestId,
      respondedAt: now.toISOString(),
      accounts,
      ...(this.purchases.signCaCertificate ? { caCertificate: this.signCa(request.server.caCertificate, now) } : {}),
    };
  }

  /** Serves `answer` over HTTPS: POST a request document, get the signed response. */
  async listen(port: number, host = '127.0.0.1'): Promise<{ url: string; close(): Promise<void> }> {
    const server = https.createServer(issueTlsCertificate(this.keys, host), (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const reply = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
        if (req.method !== 'POST') return reply(405, { error: { code: 'METHOD_NOT_ALLOWED', message: 'POST a sync request' } });
        if (this.failNext > 0) {
          this.failNext--;
          return reply(503, { error: { code: 'UNAVAILABLE', message: 'simulated outage' } });
        }
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          this.received.push(body);
          const override = this.overrideNext;
          this.overrideNext = undefined;
          if (override) {
            const answer = override(body);
            return res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers }).end(JSON.stringify(answer.body));
          }
          reply(200, this.answer(body));
        } catch (err) {
          reply(400, { error: { code: 'INVALID_REQUEST', message: (err as Error).message.slice(0, 500) } });
        }
      });
    });
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, host, resolve));
    const address = server.address() as AddressInfo;
    const hostPart = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return {
      url: `https://${hostPart}:${address.port}/sync`,
      close: () => new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
    };
  }

  private signCa(serverCaPem: string, now: Date): string {
    const serverCa = new X509Certificate(serverCaPem);
    const subject = serverCa.subject.split('\n').map((rdn) => {
      const [shortName, ...value] = rdn.split('=');
      return { shortName, value: value.join('=') };
    });
    return issueCertificate({
      subject,
      issuer: UPSTREAM_CA,
      subjectPublicKey: serverCa.publicKey,
      issuerKey: this.keys.caKey,
      issuerPublicKey: new X509Certificate(this.keys.caCertPem).publicKey,
      notBefore: new Date(now.getTime() - 60_000),
      notAfter: new Date(now.getTime() + 5 * 365 * DAY_MS),
      extensions: [
        { name: 'basicConstraints', cA: true, critical: true },
        { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
      ],
    }).pem;
  }
}

const describeIssues = (error: z.ZodError) => error.issues.map((i) => `${i.path.join('.') || '(document)'} ${i.message}`).join('; ');
