import { type KeyObject, randomBytes, X509Certificate } from 'node:crypto';
import { KeyVault } from '../pki/key-vault';
import { PkiService } from '../pki/pki-service';
import { RESPONSE_SIGNING_EKU } from '../pki/response-signing';
import { generateEcKeyPair, issueCertificate } from '../pki/x509';
import { issueIdCertificate } from '../transport/id-certificate';
import { pemToDerBase64, signJws } from '../transport/jws';
import type { Db } from '../store/database';
import { ProductSimulator } from './simulator';

type Row = { name: string; certPem: string | null; keyEncrypted: string };

/** The key_material table in memory: enough for PkiService. */
function memoryDb(rows = new Map<string, Row>()): Db {
  const keyMaterial = {
    findUnique: async ({ where }: { where: { name: string } }) => rows.get(where.name) ?? null,
    findUniqueOrThrow: async ({ where }: { where: { name: string } }) => rows.get(where.name)!,
    createMany: async ({ data }: { data: Row[] }) => data.forEach((r) => rows.has(r.name) || rows.set(r.name, r)),
    updateMany: async ({ where, data }: { where: Row; data: Partial<Row> }) => {
      const row = rows.get(where.name);
      if (row && row.certPem === where.certPem) rows.set(where.name, { ...row, ...data });
    },
  };
  return { keyMaterial } as unknown as Db;
}

describe('The product simulator tells the server signature from another product signature', () => {
  const pki = new PkiService(memoryDb(), new KeyVault(randomBytes(32)));
  let sim: ProductSimulator;

  beforeAll(async () => {
    sim = ProductSimulator.create({ url: 'https://127.0.0.1:1/t', udi: { pid: 'CUCM', sn: 'SN1' }, hostname: 'cucm-1', productType: 'UCL', trustedCa: (await pki.ca()).certPem });
    sim.state.instanceId = 'instance-1';
  });

  const answerTo = (message: string, signer: { key: KeyObject; certPem: string }, caPem: string) => {
    const jti = JSON.parse(Buffer.from(message.split('.')[1], 'base64url').toString('utf8')).jti;
    return signJws({ typ: 'authorize', status: 'AUTHORIZED', requestJti: jti, iat: Math.floor(Date.now() / 1000) }, signer.key, { x5c: [pemToDerBase64(signer.certPem), pemToDerBase64(caPem)] });
  };

  test('When the server response-signing key signs an AUTHORIZED answer, then the simulator accepts it', async () => {
    const ca = await pki.ca();
    const signer = await pki.responseSigner();
    expect(new X509Certificate(signer.certPem).keyUsage).toEqual([RESPONSE_SIGNING_EKU]);
    const message = sim.authorizeMessage([{ tag: 'T', count: 1 }]);
    expect(sim.verifyAnswer(answerTo(message, signer, ca.certPem), message)).toMatchObject({ status: 'AUTHORIZED' });
  });

  test('When another product signs an AUTHORIZED answer with its ID certificate from the same CA, then the simulator refuses it', async () => {
    const ca = await pki.ca();
    const otherProduct = generateEcKeyPair();
    const idCertificate = issueIdCertificate(ca, otherProduct.publicKey.export({ type: 'spki', format: 'der' }) as Buffer, { pid: 'CUCM', sn: 'SN2' }, new Date()).pem;
    const message = sim.authorizeMessage([{ tag: 'T', count: 1 }]);
    expect(() => sim.verifyAnswer(answerTo(message, { key: otherProduct.privateKey, certPem: idCertificate }, ca.certPem), message)).toThrow(
      'server response is not signed by a response-signing certificate',
    );
  });

  test('When the stored response-signing certificate predates the purpose (no EKU), then it is replaced once by one that has it', async () => {
    const rows = new Map<string, Row>();
    const vault = new KeyVault(randomBytes(32));
    const older = new PkiService(memoryDb(rows), vault);
    const ca = await older.ca();
    const key = generateEcKeyPair();
    const now = Date.now();
    const legacy = issueCertificate({ subject: [{ shortName: 'CN', value: 'legacy' }], issuer: [], subjectPublicKey: key.publicKey, issuerKey: ca.key, issuerPublicKey: ca.publicKey, notBefore: new Date(now), notAfter: new Date(now + 86_400_000), extensions: [] }).pem;
    rows.set('response-signing', { name: 'response-signing', certPem: legacy, keyEncrypted: vault.seal(key.privateKey) });

    const upgraded = await new PkiService(memoryDb(rows), vault).responseSigner();
    expect(upgraded.certPem).not.toBe(legacy);
    expect(new X509Certificate(upgraded.certPem).keyUsage).toEqual([RESPONSE_SIGNING_EKU]);
    expect(rows.get('response-signing')!.certPem).toBe(upgraded.certPem);
    expect((await new PkiService(memoryDb(rows), vault).responseSigner()).certPem).toBe(upgraded.certPem);
  });
});
