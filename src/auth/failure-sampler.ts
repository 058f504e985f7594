/**
 * Decides which authentication failures reach the event log: the first one per key (username,
 * client id) in each window and at most `maxPerWindow` in all. The others are only counted, and the
 * next recorded event carries that count, so a spray of failures costs a few rows, not one per try.
 */
export class FailureSampler {
  private readonly recorded = new Set<string>();
  private windowStart = 0;
  private inWindow = 0;
  private suppressed = 0;

  constructor(
    private readonly windowMs = 60_000,
    private readonly maxPerWindow = 60,
    private readonly now: () => number = Date.now,
  ) {}

  /** Details for the event to record, or undefined when this failure is only counted. */
  sample(key: string, address: string): Record<string, unknown> | undefined {
    const t = this.now();
    if (t - this.windowStart >= this.windowMs) {
      this.windowStart = t;
      this.inWindow = 0;
      this.recorded.clear();
    }
    if (this.recorded.has(key) || this.inWindow >= this.maxPerWindow) {
      this.suppressed++;
      return undefined;
    }
    this.recorded.add(key);
    this.inWindow++;
    const details = { address, ...(this.suppressed ? { unrecordedFailuresBefore: this.suppressed } : {}) };
    this.suppressed = 0;
    return details;
  }
}
