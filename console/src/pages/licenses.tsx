import { useState } from 'react';
import { Alert, Flex, List, ListItem, Stack } from '@patternfly/react-core';
import { api, ApiError, enc } from '../api';
import { JsonFileButton } from '../components/file-button';
import { date, StatusLabel } from '../components/format';
import { useLoad } from '../components/hooks';
import { DataTable } from '../components/table';
import { useSession } from '../session';
import type { LicenseRow } from '../types';

export const loadLicenses = (account: string, va: string) =>
  api<{ licenses: LicenseRow[] }>('GET', `/api/v1/accounts/${enc(account)}/licenses?virtualAccount=${enc(va)}`).then((r) => r.licenses);

/** "+2 borrowed" from higher tiers, "-1 lent" to lower ones, "—" without substitution. */
export function substitutionText(l: LicenseRow): string {
  const parts = [l.borrowed ? `+${l.borrowed} borrowed` : '', l.lent ? `-${l.lent} lent` : ''].filter(Boolean);
  return parts.length ? parts.join(', ') : '—';
}

type ImportFault = { index?: number; field?: string; message: string };

/** Closed networks: purchased licenses arrive as an entitlement file, checked whole by the server. */
function ImportEntitlements({ onImported }: { onImported: () => void }) {
  const session = useSession();
  const [faults, setFaults] = useState<{ title: string; list: ImportFault[] }>();
  if (!session.canWrite) return null;
  const upload = async (json: Promise<unknown>, name: string) => {
    setFaults(undefined);
    try {
      await api('POST', '/api/v1/licenses/import', await json);
      session.notify(`${name} imported`);
      onImported();
    } catch (err) {
      const list = err instanceof ApiError ? ((err.details?.faults as ImportFault[] | undefined) ?? []) : [];
      setFaults({ title: err instanceof Error ? err.message : String(err), list });
    }
  };
  return (
    <Stack hasGutter>
      <Flex>
        <JsonFileButton label="Import entitlement file" onFile={(json, name) => void upload(json, name)} />
      </Flex>
      {faults && (
        <Alert variant="danger" isInline title={faults.title}>
          <List>
            {faults.list.map((f, i) => (
              <ListItem key={i}>{`${f.index === undefined ? '' : `entry ${f.index + 1} `}${f.field ?? ''}: ${f.message}`}</ListItem>
            ))}
          </List>
        </Alert>
      )}
    </Stack>
  );
}

export function LicensesTab({ account, va }: { account: string; va: string }) {
  const licenses = useLoad(() => loadLicenses(account, va), [account, va]);
  return (
    <Stack hasGutter>
      <ImportEntitlements onImported={licenses.reload} />
      <DataTable
        label="Licenses"
        rows={licenses.data}
        error={licenses.error}
        rowKey={(l) => l.tag}
        empty={{ title: 'No licenses', body: 'Licenses arrive with a synchronization, or with an entitlement file an admin imports here.' }}
        columns={[
          { title: 'License', render: (l) => <>{l.license}<br /><small className="slm-break">{l.tag} · {l.billingType ?? 'not purchased'}</small></> },
          { title: 'Purchased', render: (l) => l.quantity, nowrap: true },
          { title: 'In use', render: (l) => l.inUse, nowrap: true },
          { title: 'Substitution', render: (l) => <>{substitutionText(l)}{l.family && <><br /><small>{l.family}, tier {l.tier}</small></>}</> },
          { title: 'Balance', render: (l) => l.balance },
          { title: 'Status', render: (l) => <StatusLabel value={l.status} /> },
          { title: 'Term ends', render: (l) => (l.endsAt ? date(l.endsAt) : l.billingType ? 'no end' : '—'), nowrap: true },
          { title: 'Alerts', render: (l) => (l.alerts.length ? l.alerts.map((a) => <div key={a.messageType} title={a.message}>{a.messageType}</div>) : '—') },
        ]}
      />
    </Stack>
  );
}
