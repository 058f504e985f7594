import { randomBytes } from 'node:crypto';
import { KeyVault } from './key-vault';
import { generateEcKeyPair } from './x509';

describe('KeyVault', () => {
  test('When a key is sealed and opened with the same KEK, then the same key comes back and no PEM is visible', () => {
    const vault = new KeyVault(randomBytes(32));
    const { privateKey } = generateEcKeyPair();
    const sealed = vault.seal(privateKey);
    expect(sealed).not.toContain('PRIVATE KEY');
    expect(vault.open(sealed).export({ type: 'pkcs8', format: 'der' })).toEqual(privateKey.export({ type: 'pkcs8', format: 'der' }));
  });

  test('When the KEK differs, then opening fails with a message naming the KEK', () => {
    const sealed = new KeyVault(randomBytes(32)).seal(generateEcKeyPair().privateKey);
    expect(() => new KeyVault(randomBytes(32)).open(sealed)).toThrow(/key-encryption key/);
  });
});
