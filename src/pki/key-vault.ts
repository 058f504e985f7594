import { createCipheriv, createDecipheriv, createPrivateKey, KeyObject, randomBytes } from 'node:crypto';

/** Encrypts private keys at rest (AES-256-GCM) with the key-encryption key from config. */
export class KeyVault {
  constructor(private readonly kek: Buffer) {
    if (kek.length !== 32) throw new Error('key-encryption key must be 32 bytes');
  }

  seal(key: KeyObject): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.kek, iv);
    const pem = key.export({ type: 'pkcs8', format: 'pem' }) as string;
    const body = Buffer.concat([cipher.update(pem, 'utf8'), cipher.final()]);
    return `v1:${Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64')}`;
  }

  open(sealed: string): KeyObject {
    const [version, payload] = sealed.split(':');
    if (version !== 'v1' || !payload) throw new Error('unknown sealed key format');
    const raw = Buffer.from(payload, 'base64');
    const decipher = createDecipheriv('aes-256-gcm', this.kek, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    try {
      const pem = Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
      return createPrivateKey(pem);
    } catch {
      throw new Error('cannot decrypt a stored private key: the key-encryption key (SLM_KEK or data/kek) does not match the database');
    }
  }
}
