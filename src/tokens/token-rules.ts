import { badRequest } from '../errors';

export type TokenStatus = 'ACTIVE' | 'EXPIRED' | 'REVOKED' | 'EXHAUSTED';
export type TokenRequest = { description: string; expiresInDays: number; maxUses?: number; exportControlled?: boolean };

export const MAX_EXPIRES_IN_DAYS = 365;
export const MAX_USES_CAP = 100_000;
const DAY_SECONDS = 86_400;
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The same request with SSM On-Prem's field names, as API Toolkit automation sends it. */
export type SsmTokenRequest = { description: string; expiresAfterDays: number | string; exportControlled?: 'Allowed' | 'Not Allowed'; maxUses?: number };
export type TokenFieldNames = 'ours' | 'ssm';

/** `expiresAfterDays` may be a number or a string of digits (some automation sends "365"); anything else fails validation. */
export function fromSsmFields(body: SsmTokenRequest): TokenRequest {
  const days = body.expiresAfterDays;
  return {
    description: body.description,
    expiresInDays: typeof days === 'string' ? (/^\s*\d{1,6}\s*$/.test(days) ? Number(days) : Number.NaN) : days,
    maxUses: body.maxUses,
    exportControlled: body.exportControlled === 'Allowed',
  };
}

export function assertValidTokenRequest(input: TokenRequest, names: TokenFieldNames = 'ours'): void {
  const problems: string[] = [];
  if (!input.description || input.description.length > 256) problems.push('description must be 1-256 characters');
  if (!Number.isInteger(input.expiresInDays) || input.expiresInDays < 1 || input.expiresInDays > MAX_EXPIRES_IN_DAYS) {
    problems.push(`${names === 'ssm' ? 'expiresAfterDays' : 'expiresInDays'} must be a whole number from 1 to ${MAX_EXPIRES_IN_DAYS}`);
  }
  const maxUses = input.maxUses ?? 1;
  if (!Number.isInteger(maxUses) || maxUses < 1 || maxUses > MAX_USES_CAP) problems.push(`maxUses must be an integer from 1 to ${MAX_USES_CAP}`);
  if (problems.length) throw badRequest('INVALID_TOKEN_REQUEST', problems.join('; '));
}

/**
 * The token's JWT times, whole seconds as JWT wants them. The expiry is counted from the
 * issue second so that re-signing the token later (to show it again) yields the same `iat` and `exp`.
 */
export function tokenTimes(now: Date, expiresInDays: number) {
  const issuedAtSeconds = Math.floor(now.getTime() / 1000);
  const lifetimeSeconds = expiresInDays * DAY_SECONDS;
  return { issuedAtSeconds, lifetimeSeconds, expiresAt: new Date((issuedAtSeconds + lifetimeSeconds) * 1000) };
}

/** Recovers the JWT times of a stored token (see tokenTimes). */
export function storedTokenTimes(row: { createdAt: Date; expiresAt: Date }) {
  const issuedAtSeconds = Math.floor(row.createdAt.getTime() / 1000);
  return { issuedAtSeconds, lifetimeSeconds: Math.round(row.expiresAt.getTime() / 1000) - issuedAtSeconds };
}

/** The status shown to admins; the precedence is the order in which a registration checks them. */
export function tokenStatus(row: { revokedAt: Date | null; expiresAt: Date; uses: number; maxUses: number }, now: Date): TokenStatus {
  if (row.revokedAt) return 'REVOKED';
  if (row.expiresAt.getTime() <= now.getTime()) return 'EXPIRED';
  if (row.uses >= row.maxUses) return 'EXHAUSTED';
  return 'ACTIVE';
}
