import type { ComplianceStatus, LicenseAlert } from './accounting';
import type { AccountLicense } from './license-service';

/** One license over a whole account: sums of the virtual accounts' figures, and those figures themselves. */
export type LicenseTotal = Omit<AccountLicense, 'virtualAccount' | 'alerts'> & {
  virtualAccount: null;
  alerts: (LicenseAlert & { virtualAccount: string })[];
  virtualAccounts: AccountLicense[];
};

/**
 * Rows of an account read without a virtual account: one per license (entitlement tag), because
 * readers such as centreon's `licenses` mode key rows by license name and keep only the last row
 * of a name. Balances stay per virtual account (licenses are not shared between them), so a
 * license is Out of Compliance when any virtual account is, whatever the others hold unused; the
 * summed figures only describe the whole.
 */
export function aggregateByLicense(positions: AccountLicense[]): LicenseTotal[] {
  const byTag = new Map<string, AccountLicense[]>();
  for (const p of positions) byTag.set(p.tag, [...(byTag.get(p.tag) ?? []), p]);
  return [...byTag.values()]
    .map((vas): LicenseTotal => {
      const sum = (field: 'purchased' | 'inUse' | 'borrowed' | 'lent' | 'substitution' | 'balance') => vas.reduce((n, p) => n + p[field], 0);
      // Purchased lines name the license; a virtual account that only uses the tag knows just the tag.
      const named = vas.find((p) => p.billingType !== null) ?? vas[0];
      const ends = vas.map((p) => p.endsAt).filter((d): d is Date => d !== null);
      return {
        tag: named.tag,
        displayName: named.displayName,
        billingType: named.billingType,
        family: named.family,
        tier: named.tier,
        purchased: sum('purchased'),
        inUse: sum('inUse'),
        borrowed: sum('borrowed'),
        lent: sum('lent'),
        substitution: sum('substitution'),
        balance: sum('balance'),
        status: (vas.some((p) => p.status === 'Out of Compliance') ? 'Out of Compliance' : 'In Compliance') as ComplianceStatus,
        endsAt: ends.length ? new Date(Math.min(...ends.map((d) => d.getTime()))) : null,
        alerts: vas.flatMap((p) => p.alerts.map((a) => ({ ...a, virtualAccount: p.virtualAccount }))),
        virtualAccount: null,
        virtualAccounts: vas,
      };
    })
    .sort((a, b) => a.displayName.localeCompare(b.displayName) || a.tag.localeCompare(b.tag));
}
