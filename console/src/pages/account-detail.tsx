import { useState } from 'react';
import { Button, Card, CardBody, CardTitle, Stack } from '@patternfly/react-core';
import { api, enc } from '../api';
import { FormModal } from '../components/form';
import { date, dateTime, StatusLabel } from '../components/format';
import { Details } from '../components/details';
import { useLoad } from '../components/hooks';
import { PageFrame } from '../components/page';
import { DataTable } from '../components/table';
import { Link } from '../router';
import { useSession } from '../session';
import type { AccountDetail } from '../types';
import { AccountActions } from './accounts';

export function AccountDetailPage({ account }: { account: string }) {
  const session = useSession();
  const [creating, setCreating] = useState(false);
  const detail = useLoad(() => api<AccountDetail>('GET', `/api/v1/accounts/${enc(account)}`), [account]);
  const a = detail.data;
  return (
    <PageFrame title={`Account ${account}`} description={<Link to="/admin/accounts">All accounts</Link>} actions={a && <AccountActions account={a} onChanged={detail.reload} />}>
      <Stack hasGutter>
        {a && (
          <Card>
            <CardTitle component="h2">Details</CardTitle>
            <CardBody>
              <Details
                entries={[
                  ['Status', <StatusLabel value={a.status} />],
                  ['Description', a.description ?? '—'],
                  ['Contact email', a.contactEmail ?? '—'],
                  ['Smart Account', a.smartAccount ?? '—'],
                  ['Requested', dateTime(a.createdAt)],
                  ['Approved', dateTime(a.approvedAt)],
                ]}
              />
            </CardBody>
          </Card>
        )}
        <Card>
          <CardTitle component="h2">Virtual accounts</CardTitle>
          <CardBody>
            {session.canWrite && (
              <Button variant="secondary" onClick={() => setCreating(true)}>
                New virtual account
              </Button>
            )}
            <DataTable
              label="Virtual accounts"
              rows={a?.virtualAccounts}
              error={detail.error}
              rowKey={(va) => va.id}
              empty={{ title: 'No virtual accounts', body: 'Create one to group products and licenses.' }}
              columns={[
                { title: 'Name', render: (va) => va.name },
                { title: 'Created', render: (va) => date(va.createdAt) },
                { title: 'Licensing', render: (va) => <Link to={`/licensing/${enc(account)}/${enc(va.name)}/alerts`} aria-label={`Open in Licensing: ${va.name}`}>Open in Licensing</Link> },
              ]}
            />
          </CardBody>
        </Card>
      </Stack>
      {creating && (
        <FormModal
          title="New virtual account"
          submitLabel="Create"
          fields={[{ name: 'name', label: 'Name', required: true }]}
          onClose={() => setCreating(false)}
          onSubmit={async (v) => {
            await api('POST', `/api/v1/accounts/${enc(account)}/virtual-accounts`, { name: v.name });
            setCreating(false);
            session.notify(`Virtual account ${v.name} created`);
            detail.reload();
          }}
        />
      )}
    </PageFrame>
  );
}
