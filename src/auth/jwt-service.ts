import jwt from 'jsonwebtoken';
import type { KeyObject } from 'node:crypto';
import { unauthorized } from '../errors';

/** What a JWT of ours is for; verification insists on the expected audience, so kinds never mix. */
export type JwtAudience = 'slm:session' | 'slm:registration' | 'slm:api';
const ALGORITHM = 'ES256';
export const JWT_ISSUER = 'slm-onprem';
const DAY_SECONDS = 86_400;
/** The longest lifetime we ever sign per audience (config maxima, 365-day registration tokens plus a day of slack). */
const MAX_LIFETIME_SECONDS: Record<JwtAudience, number> = { 'slm:session': DAY_SECONDS, 'slm:api': DAY_SECONDS, 'slm:registration': 366 * DAY_SECONDS };

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
    let claims: jwt.JwtPayload;
    try {
      claims = jwt.verify(token, this.publicKey, {
        algorithms: [ALGORITHM],
        audience,
        issuer: JWT_ISSUER,
        ignoreExpiration: options.ignoreExpiration ?? false,
      }) as jwt.JwtPayload;
    } catch (err) {
      if (err instanceof jwt.TokenExpiredError) throw unauthorized('TOKEN_EXPIRED', 'the token has expired');
      throw unauthorized('TOKEN_INVALID', 'the token is not valid');
    }
    // jsonwebtoken accepts a token without exp as never expiring; ours always carry a bounded one,
    // so a token that lacks it or claims a longer life was not made by this server's rules.
    const issuedAt = typeof claims.iat === 'number' ? claims.iat : Math.floor(Date.now() / 1000);
    if (typeof claims.exp !== 'number' || claims.exp - issuedAt > MAX_LIFETIME_SECONDS[audience]) {
      throw unauthorized('TOKEN_INVALID', 'the token is not valid');
    }
    return claims as T;
  }
}
