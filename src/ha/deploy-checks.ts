import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { AppError, badRequest, conflict } from '../errors';
import type { VipDriverName } from './cluster-config';

/** The VIP must be free: nobody serving on it, and for `bind` an address this host has. */
export async function checkVipFree(address: string, port: number, driver: VipDriverName): Promise<void> {
  if (!net.isIP(address)) throw badRequest('VIP_INVALID', `${address} is not an IP address`);
  if (driver === 'none') return;
  if (driver === 'bind') {
    const local = await new Promise<boolean>((resolve) => {
      const srv = net.createServer();
      srv.once('error', () => resolve(false));
      srv.listen(0, address, () => srv.close(() => resolve(true)));
    });
    if (!local) throw badRequest('VIP_NOT_LOCAL', `${address} is not an address of this host: the bind driver needs it present (or use --vip-driver iproute2)`);
  }
  const answering = await new Promise<boolean>((resolve) => {
    const socket = net.connect({ host: address, port, timeout: 1000 });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
  });
  if (answering) throw conflict('VIP_IN_USE', `something already answers on ${address}:${port}: the VIP must be free`);
}

/** The server's database on the adopted instance (a fresh instance has only `postgres`). */
export async function ensureDatabase(url: URL): Promise<void> {
  const admin = new URL(url.toString());
  admin.pathname = '/postgres';
  let client: Client;
  // The keeper reports the node before its PostgreSQL is up: wait for it.
  for (let attempt = 0; ; attempt++) {
    client = new Client({ connectionString: admin.toString(), connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      break;
    } catch (err) {
      await client.end().catch(() => undefined);
      if (attempt >= 150) throw new AppError('HA_DATABASE_UNREACHABLE', 503, `the local PostgreSQL does not answer: ${(err as Error).message}`);
      await sleep(200);
    }
  }
  try {
    const name = url.pathname.slice(1);
    const exists = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (exists.rowCount === 0) await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
  } finally {
    await client.end();
  }
}
