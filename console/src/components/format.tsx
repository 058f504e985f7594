import { Label } from '@patternfly/react-core';

export const dateTime = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString() : '—');
export const date = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleDateString() : '—');

export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

export function duration(seconds: number): string {
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return d ? `${d}d ${h}h` : h ? `${h}h ${m}m` : `${m}m ${seconds % 60}s`;
}

const COLORS: Record<string, 'green' | 'orange' | 'red' | 'grey' | 'blue' | 'yellow'> = {
  ACTIVE: 'green', REQUESTED: 'orange', INACTIVE: 'grey', REGISTERED: 'green', DEREGISTERED: 'grey', EXPIRED: 'grey', REVOKED: 'red',
  EXHAUSTED: 'orange', 'In Compliance': 'green', 'Out of Compliance': 'red', Major: 'red', Minor: 'orange', Normal: 'green', Degraded: 'red',
  Failover: 'orange', Connected: 'green', success: 'green', failure: 'red', Disconnected: 'red', Active: 'blue', Standby: 'grey', admin: 'blue', operator: 'grey',
};

export function StatusLabel({ value }: { value: string }) {
  return <Label color={COLORS[value] ?? 'grey'}>{value}</Label>;
}
