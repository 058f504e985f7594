import type { Request } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import { AppError } from '../errors';

/**
 * Limits failed attempts (4xx answers) per client address, optionally narrowed by a key from the
 * request (a username). Successful attempts are not counted. Beyond `max` failures in the window:
 * 429 RATE_LIMITED with Retry-After.
 */
export function failureLimiter(what: string, max: number, windowSeconds: number, key?: (req: Request) => string) {
  return rateLimit({
    windowMs: windowSeconds * 1000,
    limit: max,
    skipSuccessfulRequests: true,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    keyGenerator: (req) => `${ipKeyGenerator(req.ip ?? '')}|${key?.(req) ?? ''}`,
    handler: (_req, _res, next) =>
      next(new AppError('RATE_LIMITED', 429, `${what}: try again later`, { retryAfterSeconds: windowSeconds })),
  });
}
