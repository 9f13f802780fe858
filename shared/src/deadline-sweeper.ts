/**
 * Expires pending jobs without a timer per job: jobs of the same timeout expire in the order they were
 * submitted, so one FIFO per timeout value and one coarse interval are enough. A job settled earlier is
 * simply skipped when its turn comes.
 */
export class DeadlineSweeper {
  private readonly queues = new Map<number, { ids: number[]; deadlines: number[]; head: number }>();
  private readonly timer: NodeJS.Timeout;

  /** `expire(id, deadline)` is called for each job whose deadline passed; it must ignore ids already settled. */
  constructor(
    private readonly expire: (id: number, deadline: number) => void,
    resolutionMs: number,
  ) {
    this.timer = setInterval(() => this.sweep(Date.now()), resolutionMs);
    this.timer.unref();
  }

  add(id: number, timeoutMs: number, now: number): void {
    let queue = this.queues.get(timeoutMs);
    if (!queue) {
      queue = { ids: [], deadlines: [], head: 0 };
      this.queues.set(timeoutMs, queue);
    }
    queue.ids.push(id);
    queue.deadlines.push(now + timeoutMs);
  }

  sweep(now: number): void {
    for (const queue of this.queues.values()) {
      while (queue.head < queue.ids.length && (queue.deadlines[queue.head] as number) <= now) {
        this.expire(queue.ids[queue.head] as number, queue.deadlines[queue.head] as number);
        queue.head++;
      }
      if (queue.head > 1024 && queue.head * 2 > queue.ids.length) {
        queue.ids = queue.ids.slice(queue.head);
        queue.deadlines = queue.deadlines.slice(queue.head);
        queue.head = 0;
      }
    }
  }

  close(): void {
    clearInterval(this.timer);
  }
}
