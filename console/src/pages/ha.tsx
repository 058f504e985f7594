import {
  Alert, Card, CardBody, CardTitle, EmptyState, EmptyStateBody, Gallery, Stack,
} from '@patternfly/react-core';
import { api } from '../api';
import { bytes, dateTime, duration, StatusLabel } from '../components/format';
import { Details, type Detail } from '../components/details';
import { useLoad } from '../components/hooks';
import { PageFrame } from '../components/page';
import { DataTable } from '../components/table';

type SystemInfo = { hostname: string; version: string; uptimeSeconds: number; memory: { totalBytes: number; freeBytes: number }; disk: { path: string; totalBytes: number; freeBytes: number }; loadAverage: number[] };
type HaNode = { name: string; role: string; publicAddress: string; clusterAddress: string; goalState: string | null; reportedState: string | null; healthy: boolean | null; system: SystemInfo | null };
type HaStatus =
  | { enabled: false }
  | {
      enabled: true; status: string; message: string; heartbeat: string; lastHeartbeatAt: string | null;
      vip: { address: string; port: number; driver: string; heldByThisNode: boolean }; thisNode: string; thisNodeRole: string;
      monitor: { reachable: boolean; lastContactAt: string | null }; activeServer: HaNode | null; standbyServer: HaNode | null;
      replication: { streaming: boolean; standbys: { clientAddr: string | null; state: string; syncState: string; writeLagSeconds: number; flushLagSeconds: number; replayLagSeconds: number }[]; replayLsn: string | null; receiverStatus: string | null };
      events: { at: string; nodeName: string; reportedState: string; goalState: string; description: string }[];
    };

/** How often the widget asks; a request that takes longer than the timeout (a node going away) is dropped and asked again. */
const REFRESH_MS = 2000;
const TIMEOUT_MS = 4000;


const systemRows = (s: SystemInfo): Detail[] => [
  ['Host name', s.hostname],
  ['Version', s.version],
  ['Uptime', duration(s.uptimeSeconds)],
  ['Memory', `${bytes(s.memory.totalBytes - s.memory.freeBytes)} used of ${bytes(s.memory.totalBytes)}`],
  ['Disk', `${bytes(s.disk.totalBytes - s.disk.freeBytes)} used of ${bytes(s.disk.totalBytes)} (${s.disk.path})`],
  ['Load average', s.loadAverage.map((l) => l.toFixed(2)).join(' / ')],
];

function ServerCard({ title, node, testId }: { title: string; node: HaNode | null; testId: string }) {
  return (
    <Card data-testid={testId}>
      <CardTitle component="h2">{title}</CardTitle>
      <CardBody>
        {node ? (
          <Details entries={[
            ['Server', <span data-testid={`${testId}-name`}>{node.name}</span>],
            ['Role', <StatusLabel value={node.role} />],
            ['Public address', node.publicAddress],
            ['Cluster address', node.clusterAddress],
            ['Health', node.healthy === null ? 'unknown' : node.healthy ? 'healthy' : 'failing'],
            ['State (reported / goal)', `${node.reportedState ?? '—'} / ${node.goalState ?? '—'}`],
            ...(node.system ? systemRows(node.system) : []),
          ]} />
        ) : (
          <EmptyState titleText="No server" headingLevel="h3" variant="xs">
            <EmptyStateBody>No server holds this role now: the cluster is degraded until the other node is back.</EmptyStateBody>
          </EmptyState>
        )}
      </CardBody>
    </Card>
  );
}

export function HaPage() {
  const status = useLoad(() => api<HaStatus>('GET', '/api/v1/ha/status', undefined, TIMEOUT_MS), [], REFRESH_MS);
  const standalone = useLoad(() => (status.data && !status.data.enabled ? api<SystemInfo>('GET', '/api/v1/system/info') : Promise.resolve(undefined)), [status.data?.enabled]);
  const h = status.data;
  return (
    <PageFrame title="High Availability" description={`The node pair as the server behind the VIP sees it; refreshed every ${REFRESH_MS / 1000} seconds.`}>
      <Stack hasGutter>
        {status.error && (
          <Alert variant="warning" isInline title="Reconnecting to the server…" data-testid="ha-reconnecting">
            {status.error.message}. The page keeps asking through the same address (the VIP moves to the active server).
          </Alert>
        )}
        {h && !h.enabled && (
          <Card>
            <CardTitle component="h2">Stand-alone server</CardTitle>
            <CardBody>
              <p>This server runs without a standby. Deploy a cluster with <code>slm ha deploy</code> to add one.</p>
              {standalone.data && <Details entries={systemRows(standalone.data)} />}
            </CardBody>
          </Card>
        )}
        {h?.enabled && (
          <>
            <Card>
              <CardTitle component="h2">Cluster</CardTitle>
              <CardBody>
                <Details entries={[
                  ['Status', <span data-testid="ha-status"><StatusLabel value={h.status} /></span>],
                  ['Message', <span data-testid="ha-message">{h.message}</span>],
                  ['Heartbeat', <span data-testid="ha-heartbeat"><StatusLabel value={h.heartbeat} /> {h.lastHeartbeatAt ? `last ${dateTime(h.lastHeartbeatAt)}` : ''}</span>],
                  ['Virtual IP', `${h.vip.address}:${h.vip.port} (${h.vip.driver}${h.vip.heldByThisNode ? ', held by this node' : ''})`],
                  ['Answered by', `${h.thisNode} (${h.thisNodeRole})`],
                  ['Monitor', h.monitor.reachable ? `reachable, last contact ${dateTime(h.monitor.lastContactAt)}` : 'unreachable'],
                ]} />
              </CardBody>
            </Card>
            <Gallery hasGutter minWidths={{ default: '100%', lg: '22rem' }}>
              <ServerCard title="Active server" node={h.activeServer} testId="ha-active" />
              <ServerCard title="Standby server" node={h.standbyServer} testId="ha-standby" />
            </Gallery>
            <Card>
              <CardTitle component="h2">Replication</CardTitle>
              <CardBody>
                <Details entries={[
                  ['Streaming', h.replication.streaming ? 'yes' : 'no'],
                  ['Standby replay position', h.replication.replayLsn ?? '—'],
                  ['WAL receiver', h.replication.receiverStatus ?? '—'],
                ]} />
                <DataTable
                  label="Replication to standbys"
                  rows={h.replication.standbys}
                  rowKey={(s) => `${s.clientAddr}-${s.state}`}
                  empty={{ title: 'No standby is replicating', body: 'The standby reconnects by itself once it is running.' }}
                  columns={[
                    { title: 'Standby address', render: (s) => s.clientAddr ?? '—' },
                    { title: 'State', render: (s) => `${s.state} (${s.syncState})` },
                    { title: 'Lag (write / flush / replay)', render: (s) => `${s.writeLagSeconds.toFixed(3)} / ${s.flushLagSeconds.toFixed(3)} / ${s.replayLagSeconds.toFixed(3)} s` },
                  ]}
                />
              </CardBody>
            </Card>
            <Card>
              <CardTitle component="h2">Recent cluster events</CardTitle>
              <CardBody>
                <DataTable
                  label="Cluster events"
                  rows={h.events}
                  rowKey={(e) => `${e.at}-${e.nodeName}-${e.description}`}
                  empty={{ title: 'No cluster events', body: 'State changes of the nodes appear here.' }}
                  columns={[
                    { title: 'Time', render: (e) => dateTime(e.at), nowrap: true },
                    { title: 'Node', render: (e) => e.nodeName },
                    { title: 'State (reported / goal)', render: (e) => `${e.reportedState} / ${e.goalState}` },
                    { title: 'Description', render: (e) => e.description },
                  ]}
                />
              </CardBody>
            </Card>
          </>
        )}
      </Stack>
    </PageFrame>
  );
}
