import { useState } from 'react';
import { Button, Flex, ToggleGroup, ToggleGroupItem, Toolbar, ToolbarContent, ToolbarItem } from '@patternfly/react-core';
import { api, enc } from '../api';
import { ConfirmModal, FormModal } from '../components/form';
import { date, StatusLabel } from '../components/format';
import { useLoad } from '../components/hooks';
import { PageFrame } from '../components/page';
import { DataTable } from '../components/table';
import { Link } from '../router';
import { useSession } from '../session';
import type { Account } from '../types';

/** Approve a request or reactivate; deactivate an active account or reject a request. */
export function AccountActions({ account, onChanged }: { account: Account; onChanged: () => void }) {
  const session = useSession();
  const [confirming, setConfirming] = useState(false);
  if (!session.canWrite) return null;
  const approve = async () => {
    try {
      await api('POST', `/api/v1/accounts/${enc(account.name)}/approve`, {});
      session.notify(`Account ${account.name} is active`);
      onChanged();
    } catch (err) {
      session.notify(`Approve ${account.name}: ${(err as Error).message}`, 'danger');
    }
  };
  const deactivating = account.status === 'ACTIVE' ? 'Deactivate' : 'Reject';
  return (
    <Flex gap={{ default: 'gapSm' }} flexWrap={{ default: 'nowrap' }}>
      {account.status !== 'ACTIVE' && (
        <Button size="sm" variant="secondary" onClick={approve} aria-label={`${account.status === 'REQUESTED' ? 'Approve' : 'Reactivate'} ${account.name}`}>
          {account.status === 'REQUESTED' ? 'Approve' : 'Reactivate'}
        </Button>
      )}
      {account.status !== 'INACTIVE' && (
        <Button size="sm" variant="secondary" isDanger onClick={() => setConfirming(true)} aria-label={`${deactivating} ${account.name}`}>
          {deactivating}
        </Button>
      )}
      {confirming && (
        <ConfirmModal
          title={`${deactivating} ${account.name}?`}
          body={account.status === 'ACTIVE' ? 'Its products can no longer register and its API clients get no tokens until it is reactivated.' : 'The request is declined.'}
          confirmLabel={deactivating}
          onClose={() => setConfirming(false)}
          onConfirm={async () => {
            await api('POST', `/api/v1/accounts/${enc(account.name)}/deactivate`);
            setConfirming(false);
            session.notify(`Account ${account.name} is inactive`);
            onChanged();
          }}
        />
      )}
    </Flex>
  );
}

export function AccountsPage() {
  const session = useSession();
  const [filter, setFilter] = useState<'all' | 'requests'>('all');
  const [creating, setCreating] = useState(false);
  const accounts = useLoad(() => api<{ accounts: Account[] }>('GET', '/api/v1/accounts').then((r) => r.accounts), []);
  const requests = accounts.data?.filter((a) => a.status === 'REQUESTED') ?? [];
  const rows = filter === 'requests' ? requests : accounts.data;
  const createButton = session.canWrite ? <Button onClick={() => setCreating(true)}>New account</Button> : undefined;

  return (
    <PageFrame title="Accounts" description="Local accounts, their requests and their virtual accounts." actions={createButton}>
      <Toolbar>
        <ToolbarContent>
          <ToolbarItem>
            <ToggleGroup aria-label="Which accounts">
              <ToggleGroupItem text="All accounts" buttonId="accounts-all" isSelected={filter === 'all'} onChange={() => setFilter('all')} />
              <ToggleGroupItem text={`Account requests (${requests.length})`} buttonId="accounts-requests" isSelected={filter === 'requests'} onChange={() => setFilter('requests')} />
            </ToggleGroup>
          </ToolbarItem>
        </ToolbarContent>
      </Toolbar>
      <DataTable
        label="Accounts"
        rows={rows}
        error={accounts.error}
        rowKey={(a) => a.id}
        empty={
          filter === 'requests'
            ? { title: 'No account requests', body: 'Requested accounts wait here for approval (or for the next synchronization).' }
            : { title: 'No accounts yet', body: session.canWrite ? 'Create the first local account, then approve it.' : 'An admin creates accounts.', action: createButton }
        }
        columns={[
          { title: 'Name', render: (a) => <Link to={`/admin/accounts/${enc(a.name)}`}>{a.name}</Link> },
          { title: 'Status', render: (a) => <StatusLabel value={a.status} /> },
          { title: 'Smart Account', render: (a) => a.smartAccount ?? '—' },
          { title: 'Contact', render: (a) => a.contactEmail ?? '—' },
          { title: 'Requested', render: (a) => date(a.createdAt), nowrap: true },
          { title: 'Actions', render: (a) => <AccountActions account={a} onChanged={accounts.reload} /> },
        ]}
      />
      {creating && (
        <FormModal
          title="New local account"
          description="The account starts as a request with a Default virtual account; approve it to use it."
          submitLabel="Create"
          fields={[
            { name: 'name', label: 'Name', required: true, helper: 'Letters, digits, spaces, dots, underscores and hyphens.' },
            { name: 'description', label: 'Description' },
            { name: 'contactEmail', label: 'Contact email', type: 'email' },
          ]}
          onClose={() => setCreating(false)}
          onSubmit={async (v) => {
            await api('POST', '/api/v1/accounts', {
              name: v.name,
              ...(v.description ? { description: v.description } : {}),
              ...(v.contactEmail ? { contactEmail: v.contactEmail } : {}),
            });
            setCreating(false);
            session.notify(`Account ${v.name} requested`);
            accounts.reload();
          }}
        />
      )}
    </PageFrame>
  );
}
