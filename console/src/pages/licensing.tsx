import { Alert, Stack, Tab, Tabs, TabTitleText } from '@patternfly/react-core';
import { api, enc } from '../api';
import { StatusLabel } from '../components/format';
import { useLoad } from '../components/hooks';
import { PageFrame } from '../components/page';
import { AccountPicker } from '../components/pickers';
import { DataTable } from '../components/table';
import { navigate } from '../router';
import type { Alert as AlertRow } from '../types';
import { InventoryTab } from './inventory';
import { LicensesTab } from './licenses';
import { InstancesTab } from './instances';
import { ReportsTab } from './reports';

const TABS: [string, string][] = [
  ['alerts', 'Alerts'],
  ['inventory', 'Inventory: General'],
  ['licenses', 'Licenses'],
  ['instances', 'Product Instances'],
  ['reports', 'Reports'],
];

function AlertsTab({ account, va }: { account: string; va: string }) {
  const alerts = useLoad(() => api<{ alerts: AlertRow[] }>('GET', `/api/v1/accounts/${enc(account)}/alerts?virtualAccount=${enc(va)}`).then((r) => r.alerts), [account, va]);
  return (
    <DataTable
      label="Alerts"
      rows={alerts.data}
      error={alerts.error}
      rowKey={(a) => `${a.type}-${a.source}-${a.message}`}
      empty={{ title: 'No alerts', body: 'Licenses are in compliance and every product instance reports in time.' }}
      columns={[
        { title: 'Severity', render: (a) => <StatusLabel value={a.severity} /> },
        { title: 'Alert', render: (a) => a.type },
        { title: 'Source', render: (a) => a.source },
        { title: 'Message', render: (a) => a.message },
      ]}
    />
  );
}

/** The Licensing workspace of one local account's virtual account. */
export function LicensingPage({ account, va, tab = 'alerts' }: { account?: string; va?: string; tab?: string }) {
  const go = (a: string, v = 'Default', t = tab) => navigate(`/licensing/${enc(a)}/${enc(v)}/${t}`);
  const active = TABS.some(([k]) => k === tab) ? tab : 'alerts';
  return (
    <PageFrame title={account && va ? `Licensing: ${account} / ${va}` : 'Licensing'} description="Registration tokens, licenses and product instances of a virtual account.">
      <Stack hasGutter>
        <AccountPicker account={account} va={va} withVirtualAccount onChange={(a, v) => go(a, v)} />
        {!account || !va ? (
          <Alert variant="info" isInline title="Choose a local account and a virtual account." />
        ) : (
          <>
            <Tabs activeKey={active} onSelect={(_e, k) => go(account, va, String(k))} aria-label="Licensing views" mountOnEnter unmountOnExit>
              {TABS.map(([key, title]) => (
                <Tab key={key} eventKey={key} title={<TabTitleText>{title}</TabTitleText>}>
                  <div className="slm-tab-body">
                    {key === 'alerts' && <AlertsTab account={account} va={va} />}
                    {key === 'inventory' && <InventoryTab account={account} va={va} />}
                    {key === 'licenses' && <LicensesTab account={account} va={va} />}
                    {key === 'instances' && <InstancesTab account={account} va={va} />}
                    {key === 'reports' && <ReportsTab account={account} va={va} />}
                  </div>
                </Tab>
              ))}
            </Tabs>
          </>
        )}
      </Stack>
    </PageFrame>
  );
}
