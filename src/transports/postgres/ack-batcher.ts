/**
 * Batched acks: every ack asked for while one batch is committing joins the
 * next, so a busy consumer pays one DELETE and one commit per batch, not per
 * message. Each ack still resolves only after its own row's delete commits.
 */
import type { LeaseRef, QueueStore } from "./queue-store.js";

interface Pending {
  readonly lease: LeaseRef;
  readonly resolve: (kept: boolean) => void;
  readonly reject: (err: unknown) => void;
}

const MAX_BATCH = 1000;

export class AckBatcher {
  private pending: Pending[] = [];
  private running = false;

  constructor(
    private readonly queue: QueueStore,
    /** How many queue rows each committed batch deleted (the queue vacuum counts them). */
    private readonly onDeleted: (rows: number) => void = () => {},
  ) {}

  ack(lease: LeaseRef): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      this.pending.push({ lease, resolve, reject });
      if (!this.running) {
        this.running = true;
        // Acks settled in the same tick (a prefetched batch of handlers finishing) share the first commit.
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, MAX_BATCH);
      try {
        const kept = await this.queue.ackMany(batch.map((p) => p.lease));
        batch.forEach((p, i) => p.resolve(kept[i] ?? false));
        this.onDeleted(kept.filter(Boolean).length);
      } catch (err) {
        // Nothing of the batch committed: each caller gets the error and may ack again.
        for (const p of batch) p.reject(err);
      }
    }
    this.running = false;
  }
}
