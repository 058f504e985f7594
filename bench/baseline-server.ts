import { createHash, createPublicKey, KeyObject, sign, verify, X509Certificate } from 'node:crypto';
import https from 'node:https';
import pg from 'pg';
import { generateEcKeyPair, issueCertificate } from '../src/pki/x509';
import { responseSigningEkuExtension } from '../src/pki/response-signing';
import { CA_NAME } from '../src/pki/pki-service';

/**
 * The machine's limit for a transport authorize, for bench:transport to compare with: a bare
 * HTTPS server doing the same work per message as directly as Node and PostgreSQL allow, with the
 * same guarantees. Per message: JSON body, compact JWS split and decoded, ES256 verify with the
 * instance key cached by id, `iat` check, then one transaction on a pool of the server's size:
 * BEGIN + slm_transport_authorize (the idempotency claim, instance and key check, usage rows) in one
 * round trip, per-tag balance (purchased - in use: the benchmark's tags have no substitution
 * families), an ES256-signed answer, slm_transport_answer (totals + stored answer) + COMMIT in the
 * second round trip. No framework, no validation
 * beyond what the work needs, no logging. Prints its port and CA on stdout; stops on SIGTERM.
 */

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

async function main() {
  const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.SLM_DB_POOL_SIZE ?? 10) });
  const tls = generateEcKeyPair();
  const name = [{ shortName: 'CN', value: '127.0.0.1' }];
  const cert = issueCertificate({
    subject: name, issuer: name, subjectPublicKey: tls.publicKey, issuerKey: tls.privateKey, issuerPublicKey: tls.publicKey,
    notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 86_400_000),
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
  });
  // The answer the protocol asks for: signed by a response-signing certificate whose chain (it and
  // its CA, as ours) travels in the JWS header's x5c, and stored with it.
  const day = 86_400_000;
  const caKeys = generateEcKeyPair();
  const caCert = issueCertificate({
    subject: CA_NAME, issuer: CA_NAME, subjectPublicKey: caKeys.publicKey, issuerKey: caKeys.privateKey, issuerPublicKey: caKeys.publicKey,
    notBefore: new Date(Date.now() - day), notAfter: new Date(Date.now() + 3650 * day),
    extensions: [{ name: 'basicConstraints', cA: true, critical: true }, { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true }],
  });
  const signing = generateEcKeyPair();
  const signingCert = issueCertificate({
    subject: [{ shortName: 'CN', value: 'slm-onprem response signing' }], issuer: CA_NAME, subjectPublicKey: signing.publicKey,
    issuerKey: caKeys.privateKey, issuerPublicKey: caKeys.publicKey, notBefore: new Date(Date.now() - day), notAfter: new Date(Date.now() + 1825 * day),
    extensions: [{ name: 'basicConstraints', cA: false }, { name: 'keyUsage', digitalSignature: true, critical: true }, responseSigningEkuExtension()],
  });
  const answerKey = { key: signing.privateKey, dsaEncoding: 'ieee-p1363' as const };
  const header = b64({ alg: 'ES256', x5c: [signingCert, caCert].map((c) => new X509Certificate(c.pem).raw.toString('base64')) });
  const keys = new Map<string, { pem: string; key: KeyObject }>();

  async function authorize(compact: string): Promise<[number, unknown]> {
    const [h, p, s] = compact.split('.');
    const kid = (JSON.parse(Buffer.from(h, 'base64url').toString()) as { kid: string }).kid;
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as { jti: string; iat: number; aud: string; entitlements: { tag: string; count: number }[] };
    let known = keys.get(kid);
    if (!known) {
      const { rows } = await pool.query('SELECT public_key_pem AS pem FROM product_instance WHERE id = $1', [kid]);
      known = { pem: rows[0].pem as string, key: createPublicKey(rows[0].pem as string) };
      keys.set(kid, known);
    }
    if (!verify('sha256', Buffer.from(`${h}.${p}`), { key: known.key, dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url'))) return [401, { error: { code: 'BAD_SIGNATURE' } }];
    const now = new Date();
    if (Math.abs(now.getTime() / 1000 - claims.iat) > 300) return [401, { error: { code: 'STALE_MESSAGE' } }];
    const tags = claims.entitlements.map((e) => e.tag);
    const q = pg.escapeLiteral;
    const client = await pool.connect();
    try {
      // BEGIN with the first statement and COMMIT with the last: two round trips per message.
      const [, first] = (await client.query(`BEGIN; SELECT slm_transport_authorize(${q(kid)}, ${q(claims.jti)}, ${q(createHash('sha256').update(p).digest('hex'))},
        ${q(claims.aud)}, ${q(kid)}, ${q(known.pem)}, ARRAY[${tags.map(q).join(',')}]::text[], ARRAY[${claims.entitlements.map((e) => Math.trunc(e.count)).join(',')}]::int[],
        ${q(now.toISOString())}, 100) AS r`)) as unknown as pg.QueryResult[];
      const r = first.rows[0].r as { stored?: { body: unknown }; virtualAccountId: string; tags: string[]; deltas: number[]; lines: { tag: string; quantity: number }[]; inUse: Record<string, number>; sold: string[] };
      if (r.stored) {
        await client.query('COMMIT');
        return [200, r.stored.body];
      }
      const purchased = new Map<string, number>();
      for (const l of r.lines) purchased.set(l.tag, (purchased.get(l.tag) ?? 0) + l.quantity);
      const entitlements = claims.entitlements.map((e) => ({
        ...e, status: !r.sold.includes(e.tag) ? 'INVALID_TAG' : (purchased.get(e.tag) ?? 0) - (r.inUse[e.tag] ?? 0) < 0 ? 'OUT_OF_COMPLIANCE' : 'AUTHORIZED',
      }));
      const input = `${header}.${b64({
        typ: 'authorize', overall: entitlements.every((e) => e.count === 0 || e.status === 'AUTHORIZED') ? 'AUTHORIZED' : 'OUT_OF_COMPLIANCE', entitlements,
        authorizationExpires: new Date(now.getTime() + 90 * day).toISOString(), nextAuthorization: new Date(now.getTime() + 30 * day).toISOString(),
        iat: Math.floor(now.getTime() / 1000), requestJti: claims.jti,
      })}`;
      const body = { response: `${input}.${sign('sha256', Buffer.from(input), answerKey).toString('base64url')}` };
      await client.query(`SELECT slm_transport_answer(${q(kid)}, ${q(claims.jti)}, ${q(JSON.stringify(body))}, ${q(r.virtualAccountId)},
        ARRAY[${r.tags.map(q).join(',')}]::text[], ARRAY[${r.deltas.join(',')}]::int[]); COMMIT`);
      return [200, body];
    } catch (err) {
      await client.query('ROLLBACK');
      return [409, { error: { code: (err as Error).message.split(' ')[0] } }];
    } finally {
      client.release();
    }
  }

  const server = https.createServer({ key: tls.privateKey.export({ type: 'pkcs8', format: 'pem' }), cert: cert.pem, keepAliveTimeout: 60_000 }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      authorize((JSON.parse(Buffer.concat(chunks).toString()) as { message: string }).message).then(([status, body]) => {
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      }, () => res.writeHead(500).end());
    });
  });
  server.listen(0, '127.0.0.1', () => {
    console.log(JSON.stringify({ port: (server.address() as { port: number }).port, ca: cert.pem }));
  });
  process.on('SIGTERM', () => {
    server.close();
    server.closeAllConnections();
    void pool.end().then(() => process.exit(0));
  });
}

void main();
