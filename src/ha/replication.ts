import type { PgLink } from './monitor';

export type ReplicationRow = {
  clientAddr: string | null;
  backendStart: string;
  state: string;
  syncState: string;
  writeLagSeconds: number;
  flushLagSeconds: number;
  replayLagSeconds: number;
};

/** pg_stat_replication on the primary: one row per connected standby (lags 0 when idle). */
export async function replicationToStandbys(link: PgLink): Promise<ReplicationRow[]> {
  const rows = await link.query<Record<string, unknown>>(
    `SELECT host(client_addr) AS client_addr, backend_start::text AS backend_start, state, sync_state,
            coalesce(extract(epoch FROM write_lag), 0)::float8 AS w, coalesce(extract(epoch FROM flush_lag), 0)::float8 AS f,
            coalesce(extract(epoch FROM replay_lag), 0)::float8 AS r
       FROM pg_stat_replication ORDER BY backend_start`,
  );
  return rows.map((r) => ({
    clientAddr: (r.client_addr as string | null) ?? null,
    backendStart: String(r.backend_start),
    state: String(r.state),
    syncState: String(r.sync_state),
    writeLagSeconds: Number(r.w),
    flushLagSeconds: Number(r.f),
    replayLagSeconds: Number(r.r),
  }));
}

export type ReplayState = { inRecovery: boolean; replayLsn: string | null; receiverStatus: string | null; senderHost: string | null };

/** The local server's side: in recovery or not, how far WAL was replayed, and from whom it streams. */
export async function replayState(link: PgLink): Promise<ReplayState> {
  const [row] = await link.query<Record<string, unknown>>(
    `SELECT pg_is_in_recovery() AS rec, pg_last_wal_replay_lsn()::text AS lsn,
            (SELECT status FROM pg_stat_wal_receiver LIMIT 1) AS status,
            (SELECT sender_host FROM pg_stat_wal_receiver LIMIT 1) AS sender`,
  );
  return {
    inRecovery: row.rec === true,
    replayLsn: (row.lsn as string | null) ?? null,
    receiverStatus: (row.status as string | null) ?? null,
    senderHost: (row.sender as string | null) ?? null,
  };
}
