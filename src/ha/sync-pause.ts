import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { conflict } from '../errors';

export type SyncPauseState = { since: string; reason: string };

/**
 * After a teardown both nodes hold the same accounts: if both synchronized, the vendor would get
 * the same usage twice. Teardown writes `<data dir>/ha/sync-paused.json`; the server then neither
 * schedules nor runs a synchronization until an admin confirms on one node that it is the copy to
 * keep (`slm ha keep-this-node` removes the file).
 */
export class SyncPause {
  readonly file: string;

  constructor(dataDir: string) {
    this.file = path.join(dataDir, 'ha', 'sync-paused.json');
  }

  /** The pause, if any (read each time: a teardown or a confirmation on the command line counts at once). */
  state(): SyncPauseState | undefined {
    try {
      if (!existsSync(this.file)) return undefined;
      const raw = JSON.parse(readFileSync(this.file, 'utf8')) as Partial<SyncPauseState>;
      return { since: String(raw.since ?? ''), reason: String(raw.reason ?? 'paused after teardown') };
    } catch {
      return { since: '', reason: `unreadable ${this.file}: synchronization stays paused` };
    }
  }

  pause(reason: string, now: Date): void {
    writeFileSync(this.file, JSON.stringify({ since: now.toISOString(), reason }, null, 2) + '\n', { mode: 0o600 });
  }

  resume(): boolean {
    const was = existsSync(this.file);
    rmSync(this.file, { force: true });
    return was;
  }

  /** 409 SYNC_PAUSED while paused (a manual synchronization is refused like a scheduled one is skipped). */
  assertNotPaused(): void {
    const state = this.state();
    if (state) throw conflict('SYNC_PAUSED', `synchronization is paused on this node: ${state.reason}. Run "slm ha keep-this-node" on the node to keep, then synchronize.`);
  }
}

/**
 * Keeps the scheduler in step with `wanted()` (this node may sync) and the pause: checked every
 * 2 s, so a confirmation on the command line takes effect on the running server within seconds.
 */
export function followSyncPause(pause: SyncPause, scheduler: { start(): void; stop(): unknown; started: boolean }, wanted: () => boolean, logger: Logger): () => void {
  let reported: string | undefined;
  const check = () => {
    const state = pause.state();
    if (state && state.reason !== reported) logger.warn({ reason: state.reason, since: state.since }, 'sync: paused after HA teardown until an admin runs "slm ha keep-this-node"');
    if (!state && reported) logger.info('sync: resumed (this node was confirmed as the copy to keep)');
    reported = state?.reason;
    if (state && scheduler.started) void scheduler.stop();
    if (!state && wanted() && !scheduler.started) scheduler.start();
  };
  check();
  const timer = setInterval(check, 2000);
  timer.unref();
  return () => clearInterval(timer);
}
