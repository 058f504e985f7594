import type { Logger } from 'pino';
import type { Clock } from '../clock';
import type { SettingsStore } from '../config/settings-store';
import { SYNC_LAST_SUCCESS_KEY } from '../licenses/license-service';
import type { SyncService } from './sync-service';

const MAX_TIMER_MS = 2 ** 31 - 1; // setTimeout's limit (~24.8 days): longer waits are re-planned
export const SCHEDULER_ACTOR = 'system:sync-scheduler';

/**
 * When the next network sync is due: one interval after the last success (at once when that is
 * overdue or there was none); after a failure sooner, with exponential backoff capped at the interval.
 */
export function nextRunAt(now: Date, intervalSeconds: number, lastSuccessAt: Date | undefined, failures: number, retryBaseSeconds: number): Date {
  const intervalMs = intervalSeconds * 1000;
  if (failures > 0) return new Date(now.getTime() + Math.min(intervalMs, retryBaseSeconds * 1000 * 2 ** (failures - 1)));
  if (!lastSuccessAt) return now;
  return new Date(Math.max(now.getTime(), lastSuccessAt.getTime() + intervalMs));
}

/**
 * Runs the network sync every `intervalSeconds` while started. In a cluster only the Active node
 * syncs: the HA feature calls start() on becoming Active and stop() on leaving it; a stand-alone
 * server starts it with the server. Disabled when no upstream is configured or the interval is 0.
 */
export class SyncScheduler {
  private timer?: NodeJS.Timeout;
  private due?: Date;
  private failures = 0;
  private running?: Promise<void>;
  private abort?: AbortController;

  constructor(
    private readonly sync: SyncService,
    private readonly settings: SettingsStore,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly opts: { intervalSeconds: number; retryBaseSeconds?: number },
  ) {}

  get enabled(): boolean {
    return this.sync.networkConfigured && this.opts.intervalSeconds > 0;
  }

  get started(): boolean {
    return this.abort !== undefined;
  }

  /** When the next scheduled sync runs; null when the scheduler is stopped or disabled. */
  nextRunAt(): Date | null {
    return this.started ? (this.due ?? null) : null;
  }

  start(): void {
    if (!this.enabled || this.started) return;
    this.abort = new AbortController();
    this.failures = 0;
    this.plan().catch((err) => this.logger.error({ err }, 'sync scheduler: cannot plan the next sync'));
  }

  /** Stops planning and cancels a running network sync (it is never half-applied); resolves when it has ended. */
  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.due = undefined;
    this.abort?.abort();
    this.abort = undefined;
    await this.running;
  }

  private async plan(): Promise<void> {
    const signal = this.abort?.signal;
    const last = await this.settings.get<string>(SYNC_LAST_SUCCESS_KEY);
    if (!signal || signal.aborted) return;
    const now = this.clock();
    this.due = nextRunAt(now, this.opts.intervalSeconds, last ? new Date(last) : undefined, this.failures, this.opts.retryBaseSeconds ?? 60);
    const wait = this.due.getTime() - now.getTime();
    this.timer = setTimeout(() => {
      if (wait > MAX_TIMER_MS) return void this.plan().catch((err) => this.logger.error({ err }, 'sync scheduler: cannot plan the next sync'));
      this.running = this.runOnce(signal);
    }, Math.min(wait, MAX_TIMER_MS));
    this.timer.unref();
  }

  private async runOnce(signal: AbortSignal): Promise<void> {
    try {
      const result = await this.sync.runNetworkSync(SCHEDULER_ACTOR, signal);
      this.failures = 0;
      this.logger.info({ requestId: result.requestId }, 'scheduled sync succeeded');
    } catch (err) {
      this.failures++;
      // An unreachable upstream is expected now and then: the reason, without a stack.
      this.logger.warn({ reason: (err as Error).message, code: (err as { code?: string }).code, failures: this.failures }, 'scheduled sync failed');
    } finally {
      this.running = undefined;
    }
    if (!signal.aborted) await this.plan().catch((err) => this.logger.error({ err }, 'sync scheduler: cannot plan the next sync'));
  }
}
