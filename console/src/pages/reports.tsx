import { useState } from 'react';
import { Alert, Button, Card, CardBody, CardTitle, Content, Flex } from '@patternfly/react-core';
import { api, ApiError } from '../api';
import { download, toCsv } from '../components/files';
import type { Page, ProductInstance } from '../types';
import { instancesPath } from './instances';
import { loadLicenses } from './licenses';

/** Every instance of the virtual account, a server page at a time. */
async function allInstances(account: string, va: string): Promise<ProductInstance[]> {
  const all: ProductInstance[] = [];
  for (let page = 1; ; page++) {
    const res = await api<Page<'productInstances', ProductInstance>>('GET', `${instancesPath(account, va)}?page=${page}&pageSize=500`);
    all.push(...res.productInstances);
    if (all.length >= res.total || res.productInstances.length === 0) return all;
  }
}

export function ReportsTab({ account, va }: { account: string; va: string }) {
  const [error, setError] = useState<string>();
  const stem = `${account}-${va}`.replace(/[^A-Za-z0-9._-]+/g, '_');
  const run = (make: () => Promise<void>) => () => {
    setError(undefined);
    make().catch((err) => setError(err instanceof ApiError ? `${err.code}: ${err.message}` : String(err)));
  };
  const licensesCsv = run(async () => {
    const rows = await loadLicenses(account, va);
    download(`licenses-${stem}.csv`, toCsv(
      ['License', 'Tag', 'Billing type', 'Purchased', 'In use', 'Borrowed', 'Lent', 'Balance', 'Status', 'Family', 'Tier', 'Ends'],
      rows.map((l) => [l.license, l.tag, l.billingType, l.quantity, l.inUse, l.borrowed, l.lent, l.balance, l.status, l.family, l.tier, l.endsAt]),
    ), 'text/csv');
  });
  const instancesCsv = run(async () => {
    const rows = await allInstances(account, va);
    download(`product-instances-${stem}.csv`, toCsv(
      ['Name', 'PID', 'Serial number', 'Product type', 'Status', 'Last contact', 'Certificate expires', 'Alerts'],
      rows.map((p) => [p.name, p.udi.pid, p.udi.sn, p.productType, p.status, p.lastContactAt, p.certificateExpires, p.alerts.map((a) => a.messageType).join('; ')]),
    ), 'text/csv');
  });
  return (
    <Card>
      <CardTitle component="h2">Reports</CardTitle>
      <CardBody>
        <Content component="p">CSV files of this virtual account, as of now.</Content>
        <Flex>
          <Button variant="secondary" onClick={licensesCsv}>Licenses (CSV)</Button>
          <Button variant="secondary" onClick={instancesCsv}>Product instances (CSV)</Button>
        </Flex>
        {error && <Alert variant="danger" isInline title={error} />}
      </CardBody>
    </Card>
  );
}
