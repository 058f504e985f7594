import { randomUUID } from 'node:crypto';
import type { Db } from '../store/database';
import { generateEcKeyPair } from '../pki/x509';
import { JwtService } from './jwt-service';
import { SessionService } from './session-service';

describe('SessionService.authenticate', () => {
  test('When the session row is read but its user was deleted before Prisma read it, then SESSION_REVOKED, not a crash', async () => {
    const keys = generateEcKeyPair();
    const jwt = new JwtService(keys.privateKey, keys.publicKey);
    const id = randomUUID();
    const token = jwt.sign({ sub: 'ben', csrf: 'c' }, 'slm:session', 3600, id);
    // Prisma's include runs a second statement for the user: a delete in between leaves user null.
    const db = { userSession: { findUnique: async () => ({ id, userId: randomUUID(), expiresAt: new Date(Date.now() + 3_600_000), user: null }) } } as unknown as Db;
    const sessions = new SessionService(db, jwt, () => new Date(), 3600);
    await expect(sessions.authenticate(token)).rejects.toMatchObject({ code: 'SESSION_REVOKED', status: 401 });
  });
});
