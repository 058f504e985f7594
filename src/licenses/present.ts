import type { AccountLicense, Alert } from './license-service';
import type { LicenseTotal } from './aggregate';

/** The license row of the API Toolkit and the admin API; the first five fields are the fixed SSM On-Prem ones. */
export const presentLicense = (p: AccountLicense | LicenseTotal) => ({
  license: p.displayName,
  status: p.status,
  quantity: p.purchased,
  inUse: p.inUse,
  available: p.purchased - p.inUse,
  tag: p.tag,
  billingType: p.billingType,
  family: p.family,
  tier: p.tier,
  substitution: p.substitution,
  borrowed: p.borrowed,
  lent: p.lent,
  balance: p.balance,
  virtualAccount: p.virtualAccount,
  endsAt: p.endsAt?.toISOString() ?? null,
  alerts: p.alerts.map((a) => ({ messageType: a.messageType, severity: a.severity, message: a.message, ...('virtualAccount' in a ? { virtualAccount: a.virtualAccount } : {}) })),
  ...('virtualAccounts' in p ? { virtualAccounts: p.virtualAccounts.map(presentFigures) } : {}),
});

/** A virtual account's share of a license in an account-wide row. */
const presentFigures = (p: AccountLicense) => ({
  virtualAccount: p.virtualAccount,
  status: p.status,
  quantity: p.purchased,
  inUse: p.inUse,
  available: p.purchased - p.inUse,
  substitution: p.substitution,
  borrowed: p.borrowed,
  lent: p.lent,
  balance: p.balance,
  endsAt: p.endsAt?.toISOString() ?? null,
});

export const presentAlert = (a: Alert) => ({
  messageType: a.messageType,
  severity: a.severity,
  source: a.source,
  virtualAccount: a.virtualAccount,
  message: a.message,
});

const LICENSE_ALERTS = new Set(['Insufficient Licenses', 'Licenses Expiring', 'Licenses Expired']);

/** The admin API's alert: the API Toolkit fields plus what raised it, named by kind. */
export const presentAdminAlert = (a: Alert) => ({
  type: a.messageType,
  severity: a.severity,
  message: a.message,
  virtualAccount: a.virtualAccount,
  source: a.source,
  ...(LICENSE_ALERTS.has(a.messageType) ? { license: a.source } : a.virtualAccount !== null ? { productInstance: a.source } : {}),
});
