import type { ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';

/** What a health probe learned: the role the server answered with, or undefined when it did not answer. */
export type ProbeResult = 'active' | 'standby' | 'standalone' | undefined;

export type SupervisorState = { serverPid: number | null; spare: { pid: number | null; ready: boolean } | null; configInvalid: boolean };

/** The cluster side of supervision (absent on a stand-alone server). */
export interface ServiceGuard {
  /** Whether the monitor assigns this node the primary (its server should serve the VIP); undefined when unknown. */
  assignedPrimary(): Promise<boolean | undefined>;
  /** The lease rule while the server cannot serve: lets go of the VIP address if this node holds it. */
  releaseVip(): Promise<void>;
  /** Hands the cluster to the peer through the engine; resolves undefined when done, else why not. */
  handOver(reason: string): Promise<string | undefined>;
}

export type SupervisorOptions = {
  /** A new server process; with `promote`, one that loads its code and waits to be promoted. */
  spawnServer: () => ChildProcess;
  /** Tells a waiting process to start serving; false when it cannot be told (it is gone). */
  promote?: (child: ChildProcess) => boolean;
  /** Keep one waiting process ready, so a restart skips loading the code (about 1 s idle, 2-5 s on a loaded host). */
  keepSpare?: boolean;
  /** Told of each change of the server or the spare (a state file for operators and tests). */
  onState?: (state: SupervisorState) => void;
  probe: (timeoutMs: number) => Promise<ProbeResult>;
  guard?: ServiceGuard;
  logger: Logger;
  probeMs: number;
  hungMs: number;
  startMs: number;
  handoverMs: number;
  handoverCrashes: number;
  now?: () => number;
};

const CRASH_WINDOW_MS = 60_000;
/** What a spare sends once it has loaded and prepared everything it may before promotion. */
export const SPARE_READY = 'slm:spare-ready';
const SPARE_RETRY_MS = 10_000;
/** A failed hand-over (no healthy standby yet, engine busy) is tried again after this long. */
const HANDOVER_RETRY_MS = 2000;
/** Restart at once after one exit; back off while it keeps failing (a broken config should not spin). */
const restartDelay = (recentExits: number) => (recentExits <= 2 ? 0 : Math.min(250 * 2 ** (recentExits - 3), 10_000));
/** `slm serve` exits with 2 on an invalid configuration: restarting cannot fix that. */
export const CONFIG_ERROR_EXIT = 2;

/**
 * Keeps one `slm serve` child alive and answering: restarts it when it exits, probes it through its
 * HTTP stack every `probeMs`, and kills (SIGKILL) a server that stops answering for `hungMs`: a
 * stopped or deadlocked process cannot let go of the VIP, a dead one can. On a cluster node whose
 * database the monitor assigns the primary role, a server that has not served again within
 * `handoverMs` (or keeps crashing) makes the supervisor hand the cluster to the peer; the monitor
 * stays the judge of which node is primary.
 */
export class Supervisor {
  private child?: ChildProcess;
  private spare?: ChildProcess;
  private spareDiedAt?: number;
  private spareReady = false;
  private configInvalid = false;
  private spawnedAt = 0;
  private lastAnswerAt?: number;
  private lastRole: ProbeResult;
  private outageSince?: number;
  private handoverTriedAt?: number;
  private handoverNote?: string;
  private exits: number[] = [];
  private timer?: NodeJS.Timeout;
  private loopTimer?: NodeJS.Timeout;
  private restartTimer?: NodeJS.Timeout;
  private busy = false;
  private handingOver?: Promise<void>;
  private stopping = false;
  private readonly now: () => number;

  constructor(private readonly o: SupervisorOptions) {
    this.now = o.now ?? Date.now;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): void {
    this.spawn();
    // Hung detection runs on its own timer: it must not wait for a probe that is itself waiting.
    this.timer = setInterval(() => this.child && this.killIfHung(this.child), Math.min(250, this.o.probeMs / 2));
    const loop = async () => {
      const t0 = this.now();
      await this.tick();
      if (!this.stopping) this.loopTimer = setTimeout(() => void loop(), Math.max(0, this.o.probeMs - (this.now() - t0)));
    };
    void loop();
  }

  /** Stops supervising and sends `signal` to the server; resolves once it has exited. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', killAfterMs = 30_000): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    clearTimeout(this.loopTimer);
    clearTimeout(this.restartTimer);
    this.spare?.kill('SIGKILL');
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    await exited;
    clearTimeout(timer);
  }

  private spawn(): void {
    if (this.stopping) return;
    let child = this.spare;
    this.spare = undefined;
    const fromSpare = child !== undefined;
    if (!child || !this.promote(child)) {
      child?.kill('SIGKILL');
      child = this.o.spawnServer();
      this.promote(child);
    }
    const server = child;
    this.child = server;
    this.spawnedAt = this.now();
    this.lastAnswerAt = undefined;
    this.o.logger.info({ pid: server.pid, fromSpare }, 'supervisor: server started');
    this.publish();
    server.once('exit', (code, signal) => this.exited(server, code, signal));
  }

  private publish(): void {
    const spare = this.spare ? { pid: this.spare.pid ?? null, ready: this.spareReady } : null;
    this.o.onState?.({ serverPid: this.child?.pid ?? null, spare, configInvalid: this.configInvalid });
  }

  private promote(child: ChildProcess): boolean {
    return !this.o.promote || (child.exitCode === null && child.signalCode === null && this.o.promote(child));
  }

  /** A waiting process, started only while the server serves (it must not slow a start down). */
  private keepSpareReady(): void {
    if (!this.o.keepSpare || !this.o.promote || this.spare || this.stopping) return;
    // A spare that died on its own (its database restarting, say) is replaced, but not in a loop.
    if (this.spareDiedAt !== undefined && this.now() - this.spareDiedAt < SPARE_RETRY_MS) return;
    const spare = this.o.spawnServer();
    this.spare = spare;
    this.spareReady = false;
    spare.on('message', (m) => {
      if (m !== SPARE_READY || this.spare !== spare) return;
      this.spareReady = true;
      this.publish();
    });
    spare.once('exit', () => {
      if (this.spare !== spare) return;
      this.spare = undefined;
      this.spareDiedAt = this.now();
      this.publish();
    });
    this.publish();
  }

  private exited(child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (child !== this.child) return;
    this.child = undefined;
    if (this.stopping) return;
    const t = this.now();
    this.exits = [...this.exits.filter((x) => t - x < CRASH_WINDOW_MS), t];
    this.configInvalid = code === CONFIG_ERROR_EXIT;
    const delay = restartDelay(this.exits.length);
    this.o.logger.warn({ code, signal, exitsInLastMinute: this.exits.length, restartInMs: delay }, 'supervisor: server exited; restarting it');
    if (this.lastRole === 'active') this.outageSince ??= t;
    void this.o.guard?.releaseVip().catch(() => undefined);
    this.restartTimer = setTimeout(() => this.spawn(), delay);
    this.publish();
    if (this.o.guard && (this.configInvalid || this.exits.length >= this.o.handoverCrashes)) void this.tick();
  }

  /** One probe, then what follows from it for the cluster (hand over). */
  async tick(): Promise<void> {
    if (this.busy || this.stopping) return;
    this.busy = true;
    try {
      const child = this.child;
      const sentAt = this.now();
      const role = child ? await this.probe() : undefined;
      if (child && child === this.child && role) {
        this.lastAnswerAt = this.now();
        this.lastRole = role;
        this.configInvalid = false;
        this.keepSpareReady();
      }
      await this.followOutage(role, sentAt);
    } catch (err) {
      this.o.logger.error({ err }, 'supervisor: check failed');
    } finally {
      this.busy = false;
    }
  }

  /** The probe, bounded by a timer of its own (a socket timeout only counts idle time). */
  private async probe(): Promise<ProbeResult> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), this.o.probeMs)));
    try {
      return await Promise.race([this.o.probe(this.o.probeMs), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private killIfHung(child: ChildProcess): void {
    if (child.killed || child.exitCode !== null || child.signalCode !== null || this.stopping) return;
    const t = this.now();
    const since = this.lastAnswerAt ?? this.spawnedAt;
    const limit = this.lastAnswerAt !== undefined ? this.o.hungMs : this.o.startMs;
    if (t - since < limit) return;
    this.o.logger.error({ pid: child.pid, silentMs: t - since }, 'supervisor: server does not answer its health probe; killing it (SIGKILL)');
    if (this.lastRole === 'active') this.outageSince ??= since;
    void this.o.guard?.releaseVip().catch(() => undefined);
    child.kill('SIGKILL');
  }

  /** Tracks how long this node has failed to serve while the monitor wants it to; hands over past the limit. */
  private async followOutage(role: ProbeResult, sentAt: number): Promise<void> {
    if (role === 'active' || role === 'standalone') {
      if (this.outageSince !== undefined) this.o.logger.info({ outageMs: this.now() - this.outageSince }, 'supervisor: server serves again');
      this.outageSince = undefined;
      this.handoverNote = undefined;
      return;
    }
    const guard = this.o.guard;
    if (!guard) return;
    const primary = await guard.assignedPrimary();
    if (primary === false) {
      this.outageSince = undefined;
      return;
    }
    if (primary === undefined && this.outageSince === undefined) return;
    const t = this.now();
    const crashing = this.configInvalid || this.exits.filter((x) => t - x < CRASH_WINDOW_MS).length >= this.o.handoverCrashes;
    // A first start (nothing answered yet) is not an outage until it crashes repeatedly: a cold start
    // may take longer than the hand-over limit, and a hung one is killed after `startMs`.
    if (this.outageSince === undefined && role === undefined && this.lastRole === undefined && !crashing) return;
    this.outageSince ??= role === undefined && this.lastRole === 'active' ? sentAt : t;
    if (t - this.outageSince < this.o.handoverMs && !crashing) return;
    if (this.handingOver || (this.handoverTriedAt !== undefined && t - this.handoverTriedAt < HANDOVER_RETRY_MS)) return;
    this.handoverTriedAt = t;
    const since = this.outageSince;
    const reason = this.configInvalid
      ? 'the server cannot start: its configuration is invalid'
      : crashing
      ? `the server exited ${this.o.handoverCrashes} times within a minute`
      : `the server has not served for ${((t - since) / 1000).toFixed(1)} s`;
    this.o.logger.error({ reason }, 'supervisor: handing the cluster over to the peer');
    // In the background: probing and restarting go on while the engine switches over.
    this.handingOver = guard.handOver(reason).then((why) => {
      if (why === undefined) {
        this.o.logger.warn({ afterMs: this.now() - since }, 'supervisor: this node is not the primary now; it follows as Standby');
        this.outageSince = undefined;
        this.exits = [];
      } else if (why !== this.handoverNote) {
        this.handoverNote = why;
        this.o.logger.error({ why }, 'supervisor: could not hand over (will retry)');
      }
    }).finally(() => (this.handingOver = undefined));
  }

  /** Resolves when no hand-over is under way (tests, shutdown). */
  async settled(): Promise<void> {
    await this.handingOver;
  }
}
