import { api, enc } from '../api';
import { date, StatusLabel } from '../components/format';
import { useLoad } from '../components/hooks';
import { DataTable } from '../components/table';
import type { LicenseRow } from '../types';

export const loadLicenses = (account: string, va: string) =>
  api<{ licenses: LicenseRow[] }>('GET', `/api/v1/accounts/${enc(account)}/licenses?virtualAccount=${enc(va)}`).then((r) => r.licenses);

/** "+2 borrowed" from higher tiers, "-1 lent" to lower ones, "—" without substitution. */
export function substitutionText(l: LicenseRow): string {
  const parts = [l.borrowed ? `+${l.borrowed} borrowed` : '', l.lent ? `-${l.lent} lent` : ''].filter(Boolean);
  return parts.length ? parts.join(', ') : '—';
}

export function LicensesTab({ account, va }: { account: string; va: string }) {
  const licenses = useLoad(() => loadLicenses(account, va), [account, va]);
  return (
    <DataTable
      label="Licenses"
      rows={licenses.data}
      error={licenses.error}
      rowKey={(l) => l.tag}
      empty={{ title: 'No licenses', body: 'Licenses arrive with a synchronization or an entitlement file import (slm license import).' }}
      columns={[
        { title: 'License', render: (l) => <>{l.license}<br /><small className="slm-break">{l.tag}</small></> },
        { title: 'Billing', render: (l) => l.billingType ?? 'not purchased' },
        { title: 'Purchased', render: (l) => l.quantity },
        { title: 'In use', render: (l) => l.inUse },
        { title: 'Substitution', render: (l) => (l.family ? `${substitutionText(l)} (${l.family}, tier ${l.tier})` : substitutionText(l)) },
        { title: 'Balance', render: (l) => l.balance },
        { title: 'Status', render: (l) => <StatusLabel value={l.status} /> },
        { title: 'Term ends', render: (l) => (l.endsAt ? date(l.endsAt) : l.billingType ? 'no end' : '—'), nowrap: true },
        { title: 'Alerts', render: (l) => (l.alerts.length ? l.alerts.map((a) => <div key={a.messageType}><StatusLabel value={a.severity} /> {a.message}</div>) : '—') },
      ]}
    />
  );
}
