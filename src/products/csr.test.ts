import { execFileSync } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseAndVerifyCsr } from '../pki/x509';
import { createCsr, generateProductKey } from './csr';

describe('Product CSR', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'slm-csr-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test.each(['ec', 'rsa'] as const)('When a %s product key makes a CSR, then the server parser and openssl both verify it', (type) => {
    const key = generateProductKey(type);
    const pem = createCsr(key, 'UDI_PID:C9300 UDI_SN:FOC123', createPublicKey(key));
    const parsed = parseAndVerifyCsr(pem);
    expect(parsed.subject.commonName).toBe('UDI_PID:C9300 UDI_SN:FOC123');
    expect(parsed.publicKey.export({ type: 'spki', format: 'pem' })).toBe(createPublicKey(key).export({ type: 'spki', format: 'pem' }));
    const file = path.join(dir, `${type}.csr`);
    writeFileSync(file, pem);
    const out = execFileSync('openssl', ['req', '-in', file, '-verify', '-noout'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(out + '').not.toMatch(/fail/i);
  });

  test('When the CSR is signed by another key than the one it certifies, then the server parser answers BAD_SIGNATURE', () => {
    const key = generateProductKey('ec');
    const other = generateProductKey('ec');
    expect(() => parseAndVerifyCsr(createCsr(other, 'x', createPublicKey(key)))).toThrow(expect.objectContaining({ code: 'BAD_SIGNATURE' }));
  });
});
