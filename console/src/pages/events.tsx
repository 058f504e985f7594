import { useState } from 'react';
import { Button, TextInput, Toolbar, ToolbarContent, ToolbarItem, Form } from '@patternfly/react-core';
import { api } from '../api';
import { dateTime, StatusLabel } from '../components/format';
import { useLoad } from '../components/hooks';
import { useServerPaging } from '../components/pagination';
import { PageFrame } from '../components/page';
import { DataTable } from '../components/table';
import type { Page } from '../types';

type Event = { id: string; at: string; actor: string; action: string; objectType: string; objectId: string | null; outcome: string; details?: Record<string, unknown> };
type Filters = { action: string; actor: string; object: string };

/** `key=value` pairs, cut at 160 characters (the whole text on hover). */
function EventDetails({ details }: { details?: Record<string, unknown> }) {
  if (!details || Object.keys(details).length === 0) return <>—</>;
  const text = Object.entries(details).map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`).join(', ');
  return (
    <small className="slm-break" title={text}>
      {text.length > 160 ? `${text.slice(0, 159)}…` : text}
    </small>
  );
}

export function EventsPage() {
  const paging = useServerPaging('Event pages', 20);
  const { page, pageSize } = paging;
  const [draft, setDraft] = useState<Filters>({ action: '', actor: '', object: '' });
  const [filters, setFilters] = useState<Filters>(draft);
  const events = useLoad(() => {
    const q = new URLSearchParams({ page: String(page), pageSize: String(pageSize) });
    for (const [k, v] of Object.entries(filters)) if (v.trim()) q.set(k, v.trim());
    return api<Page<'events', Event>>('GET', `/api/v1/events?${q}`);
  }, [page, pageSize, filters]);

  const input = (key: keyof Filters, label: string) => (
    <ToolbarItem>
      <TextInput aria-label={`Filter by ${label}`} placeholder={label} value={draft[key]} onChange={(_e, v) => setDraft((d) => ({ ...d, [key]: v }))} />
    </ToolbarItem>
  );
  return (
    <PageFrame title="Event Log" description="Every change made through the console, the CLI or the API, newest first.">
      <Form
        onSubmit={(e) => {
          e.preventDefault();
          paging.first();
          setFilters(draft);
        }}
      >
        <Toolbar>
          <ToolbarContent>
            {input('action', 'Action (e.g. account.approve)')}
            {input('actor', 'Actor')}
            {input('object', 'Object')}
            <ToolbarItem>
              <Button type="submit" variant="secondary">Filter</Button>
            </ToolbarItem>
            <ToolbarItem variant="pagination">{paging.bar(events.data?.total ?? 0)}</ToolbarItem>
          </ToolbarContent>
        </Toolbar>
      </Form>
      <DataTable
        label="Events"
        rows={events.data?.events}
        error={events.error}
        rowKey={(e) => e.id}
        empty={{ title: 'No events', body: Object.values(filters).some(Boolean) ? 'No event matches these filters: clear them to see all.' : 'Changes made by admins appear here.' }}
        columns={[
          { title: 'Time', render: (e) => dateTime(e.at), nowrap: true },
          { title: 'Actor', render: (e) => e.actor },
          { title: 'Action', render: (e) => e.action },
          { title: 'Object', render: (e) => `${e.objectType}${e.objectId ? ` ${e.objectId}` : ''}` },
          { title: 'Outcome', render: (e) => <StatusLabel value={e.outcome} /> },
          { title: 'Details', render: (e) => <EventDetails details={e.details} /> },
        ]}
      />
      {paging.bar(events.data?.total ?? 0, true)}
    </PageFrame>
  );
}
