import { AppError, badRequest } from '../errors';

export type AccountStatus = 'REQUESTED' | 'ACTIVE' | 'INACTIVE';
export type AccountTransition = 'approve' | 'deactivate';

/** The virtual account every local account is created with. */
export const DEFAULT_VIRTUAL_ACCOUNT = 'Default';

/**
 * Account and virtual account names travel in URL paths and in product and sync messages:
 * letters, digits, space, dot, underscore and hyphen, starting with a letter or digit, no trailing
 * space, at most 64 characters. openapi.yaml (`AccountName`) holds the same pattern.
 */
export const NAME_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9 ._-]{0,62}[A-Za-z0-9._-])?$/;

export function assertValidName(kind: 'account' | 'virtual account', name: string): void {
  if (!NAME_PATTERN.test(name)) {
    throw badRequest('INVALID_NAME', `${kind} name "${name}" must be 1-64 letters, digits, spaces, dots, underscores or hyphens, starting with a letter or digit`);
  }
}

/**
 * Which states each admin action may start from. Approving an inactive account reactivates it;
 * deactivating a requested account rejects the request.
 */
const ALLOWED_FROM: Record<AccountTransition, readonly AccountStatus[]> = {
  approve: ['REQUESTED', 'INACTIVE'],
  deactivate: ['REQUESTED', 'ACTIVE'],
};
export const TARGET_STATUS: Record<AccountTransition, AccountStatus> = { approve: 'ACTIVE', deactivate: 'INACTIVE' };

export function allowedFrom(transition: AccountTransition): AccountStatus[] {
  return [...ALLOWED_FROM[transition]];
}

export function invalidTransition(name: string, status: AccountStatus, transition: AccountTransition): AppError {
  return new AppError('INVALID_ACCOUNT_STATE', 409, `account ${name} is ${status}: it cannot ${transition === 'approve' ? 'be approved' : 'be deactivated'}`, {
    status,
  });
}
