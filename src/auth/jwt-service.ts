import jwt from 'jsonwebtoken';
import type { KeyObject } from 'node:crypto';
import { unauthorized } from '../errors';

/** What a JWT of ours is for; verification insists on the expected audience, so kinds never mix. */
export type JwtAudience = 'slm:session' | 'slm:registration' | 'slm:api';
const ALGORITHM = 'ES256';
export const JWT_ISSUER = 'slm-onprem';

export class JwtService {
  constructor(
    private readonly key: KeyObject,
    private readonly publicKey: KeyObject,
  ) {}

  sign(payload: Record<string, unknown>, audience: JwtAudience, expiresInSeconds: number, jwtid?: string): string {
    return jwt.sign(payload, this.key, {
      algorithm: ALGORITHM,
      audience,
      issuer: JWT_ISSUER,
      expiresIn: expiresInSeconds,
      ...(jwtid ? { jwtid } : {}),
    });
  }

  /**
   * Verifies signature (algorithm pinned: `alg: none` and HS256-with-public-key tricks fail),
   * issuer, audience and expiry. Expiry is reported apart so callers can give it its own code.
   */
  verify<T extends object = jwt.JwtPayload>(token: string, audience: JwtAudience, options: { ignoreExpiration?: boolean } = {}): T {
    try {
      return jwt.verify(token, this.publicKey, {
        algorithms: [ALGORITHM],
        audience,
        issuer: JWT_ISSUER,
        ignoreExpiration: options.ignoreExpiration ?? false,
      }) as T;
    } catch (err) {
      if (err instanceof jwt.TokenExpiredError) throw unauthorized('TOKEN_EXPIRED', 'the token has expired');
      throw unauthorized('TOKEN_INVALID', 'the token is not valid');
    }
  }
}
