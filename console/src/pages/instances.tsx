import { useState } from 'react';
import { Button, Form, Modal, ModalBody, ModalHeader, SearchInput, Toolbar, ToolbarContent, ToolbarItem } from '@patternfly/react-core';
import { api, enc } from '../api';
import { Details } from '../components/details';
import { ConfirmModal } from '../components/form';
import { dateTime, StatusLabel } from '../components/format';
import { useLoad } from '../components/hooks';
import { useServerPaging } from '../components/pagination';
import { DataTable } from '../components/table';
import { useSession } from '../session';
import type { Page, ProductInstance, ProductInstanceDetail } from '../types';

export const instancesPath = (account: string, va: string) => `/api/v1/accounts/${enc(account)}/virtual-accounts/${enc(va)}/product-instances`;

/** A page of instances with each one's usage (the list gives no usage, so the page's details are read too). */
async function loadPage(account: string, va: string, page: number, pageSize: number, search: string) {
  const q = new URLSearchParams({ page: String(page), pageSize: String(pageSize) });
  if (search) q.set('search', search);
  const list = await api<Page<'productInstances', ProductInstance>>('GET', `${instancesPath(account, va)}?${q}`);
  const details = await Promise.all(list.productInstances.map((p) => api<ProductInstanceDetail>('GET', `/api/v1/product-instances/${enc(p.id)}`)));
  return { ...list, productInstances: details };
}

/** Everything the server knows about one instance. */
function InstanceModal({ instance: p, onClose }: { instance: ProductInstanceDetail; onClose: () => void }) {
  return (
    <Modal isOpen variant="medium" onClose={onClose} aria-labelledby="instance-title">
      <ModalHeader title={p.name} labelId="instance-title" description={`${p.udi.pid} / ${p.udi.sn}`} />
      <ModalBody>
        <Details
          entries={[
            ['Status', <StatusLabel value={p.status} />],
            ['Product type', p.productType],
            ['Software version', p.softwareVersion ?? '—'],
            ['Registered', dateTime(p.registeredAt)],
            ['Last contact', dateTime(p.lastContactAt)],
            ['Deregistered', dateTime(p.deregisteredAt)],
            ['ID certificate', `serial ${p.certificateSerial}, expires ${dateTime(p.certificateExpires)}`],
            ['Export-controlled', p.exportControlled ? 'allowed' : 'not allowed'],
            ['Licenses used', p.usage.length ? p.usage.map((u) => <div key={u.tag} className="slm-break">{u.tag}: {u.count}</div>) : '—'],
            ['Alerts', p.alerts.length ? p.alerts.map((a) => <div key={a.messageType}>{a.message}</div>) : '—'],
          ]}
        />
      </ModalBody>
    </Modal>
  );
}

export function InstancesTab({ account, va }: { account: string; va: string }) {
  const session = useSession();
  const paging = useServerPaging('Product instance pages', 10);
  const { page, pageSize } = paging;
  const [draft, setDraft] = useState('');
  const [search, setSearch] = useState('');
  const [removing, setRemoving] = useState<ProductInstance>();
  const [showing, setShowing] = useState<ProductInstanceDetail>();
  const instances = useLoad(() => loadPage(account, va, page, pageSize, search), [account, va, page, pageSize, search]);

  return (
    <>
      <Form
        onSubmit={(e) => {
          e.preventDefault();
          paging.first();
          setSearch(draft.trim());
        }}
      >
        <Toolbar>
          <ToolbarContent>
            <ToolbarItem>
              <SearchInput
                aria-label="Search product instances by name, PID or serial number"
                placeholder="Name, PID or serial number"
                value={draft}
                onChange={(_e, v) => setDraft(v)}
                onSearch={(_e, v) => {
                  paging.first();
                  setSearch(v.trim());
                }}
                onClear={() => {
                  setDraft('');
                  setSearch('');
                }}
              />
            </ToolbarItem>
            <ToolbarItem variant="pagination">{paging.bar(instances.data?.total ?? 0)}</ToolbarItem>
          </ToolbarContent>
        </Toolbar>
      </Form>
      <DataTable
        label="Product instances"
        rows={instances.data?.productInstances}
        error={instances.error}
        rowKey={(p) => p.id}
        empty={{
          title: search ? 'No matching product instances' : 'No product instances',
          body: search ? 'Clear the search to see all.' : 'Products appear here once they register with a token of this virtual account (Inventory: General).',
        }}
        columns={[
          { title: 'Name', render: (p) => <Button variant="link" isInline onClick={() => setShowing(p)}>{p.name}</Button> },
          { title: 'UDI (PID / SN)', render: (p) => `${p.udi.pid} / ${p.udi.sn}` },
          { title: 'Product type', render: (p) => p.productType },
          { title: 'Status', render: (p) => <StatusLabel value={p.status} /> },
          { title: 'Last contact', render: (p) => dateTime(p.lastContactAt), nowrap: true },
          { title: 'Licenses used', render: (p) => (p.usage.length ? p.usage.map((u) => <div key={u.tag} className="slm-break">{u.tag}: {u.count}</div>) : '—') },
          { title: 'Alerts', render: (p) => (p.alerts.length ? p.alerts.map((a) => <div key={a.messageType}>{a.messageType}</div>) : '—') },
          {
            title: 'Actions',
            render: (p) =>
              session.canWrite && p.status === 'REGISTERED' && (
                <Button size="sm" variant="secondary" isDanger onClick={() => setRemoving(p)} aria-label={`Remove ${p.name}`}>
                  Remove
                </Button>
              ),
          },
        ]}
      />
      {paging.bar(instances.data?.total ?? 0, true)}
      {showing && <InstanceModal instance={showing} onClose={() => setShowing(undefined)} />}
      {removing && (
        <ConfirmModal
          title={`Remove ${removing.name}?`}
          body="Its licenses are released and it is deregistered; it can register again with a token."
          confirmLabel="Remove"
          onClose={() => setRemoving(undefined)}
          onConfirm={async () => {
            await api('DELETE', `/api/v1/product-instances/${enc(removing.id)}`);
            setRemoving(undefined);
            session.notify(`${removing.name} removed`);
            instances.reload();
          }}
        />
      )}
    </>
  );
}
