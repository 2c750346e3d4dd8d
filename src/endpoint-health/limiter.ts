// Per-endpoint limits that hold across every worker process: a rate as evenly spaced slots (GCRA), and a
// number of requests in flight as expiring leases. Both claim by inserting a document whose `_id` is the claim
// (see model.ts). Within a process, claims for one endpoint go one at a time, so that a process walks past
// the slots others took once, not once per waiting delivery.
import { isDuplicateKeyError } from '../db';
import { InFlightLease, RateSlot } from './model';
import { rateBurst } from './settings';

/** Slots older than this are deleted: nobody claims in the past beyond the burst. */
const SLOT_KEEP_MS = 60_000;

/** Runs the tasks given for one key one after the other, in the order given. */
class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    const result = (this.tails.get(key) ?? Promise.resolve()).then(task, task);
    const settled = result.catch(() => {});
    this.tails.set(key, settled);
    void settled.then(() => {
      if (this.tails.get(key) === settled) this.tails.delete(key);
    });
    return result;
  }
}

export class RateLimiter {
  private readonly cursors = new Map<string, number>();
  private readonly queue = new KeyedQueue();
  private lastSweep = Date.now();

  /**
   * Claims the endpoint's next free slot: a slot is 1/rate seconds long and carries one request; an idle
   * endpoint's last `rateBurst` slots (the current one included) may still be claimed. Resolves with the
   * slot's start (ms since the epoch), which may be in the future: the request waits for it.
   */
  claim(endpointId: string, ratePerS: number): Promise<number> {
    const key = `${endpointId}:${ratePerS}`;
    const slotMs = 1000 / ratePerS;
    const run = async () => {
      const now = Date.now();
      let slot = Math.max(Math.floor(now / slotMs) - rateBurst(ratePerS) + 1, this.cursors.get(key) ?? 0);
      for (;;) {
        try {
          await RateSlot.collection.insertOne({
            _id: `${key}:${slot}`,
            at: new Date(slot * slotMs),
          } as never);
          break;
        } catch (err) {
          if (!isDuplicateKeyError(err)) throw err;
          slot++;
        }
      }
      this.cursors.set(key, slot + 1);
      this.sweep(now);
      return slot * slotMs;
    };
    return this.queue.run(key, run);
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < SLOT_KEEP_MS / 2) return;
    this.lastSweep = now;
    void RateSlot.collection.deleteMany({ at: { $lt: new Date(now - SLOT_KEEP_MS) } }).catch(() => {});
  }
}

/** How often the process's first waiter for an endpoint's lease asks again. */
const LEASE_POLL_MS = 25;

export class InFlightLimiter {
  private readonly queue = new KeyedQueue();

  /**
   * One of the endpoint's `max` places, held by `holder` until released or `ttlMs` has passed (a holder that
   * died). Waits up to `waitMs` behind this process's earlier callers; null if none came free by then.
   */
  acquire(
    endpointId: string,
    max: number,
    holder: string,
    ttlMs: number,
    waitMs: number,
  ): Promise<string | null> {
    const deadline = Date.now() + waitMs;
    const run = async () => {
      for (;;) {
        const lease = await this.tryAcquire(endpointId, max, holder, ttlMs);
        if (lease || Date.now() >= deadline) return lease;
        await new Promise((r) => setTimeout(r, LEASE_POLL_MS));
      }
    };
    return this.queue.run(endpointId, run);
  }

  async release(lease: string, holder: string): Promise<void> {
    await InFlightLease.collection.deleteOne({ _id: lease, holder } as never);
  }

  private async tryAcquire(
    endpointId: string,
    max: number,
    holder: string,
    ttlMs: number,
  ): Promise<string | null> {
    const ids = Array.from({ length: max }, (_, n) => `${endpointId}:${n}`);
    for (let round = 0; round < 2; round++) {
      for (const id of ids) {
        try {
          await InFlightLease.collection.insertOne({
            _id: id,
            holder,
            expires_at: new Date(Date.now() + ttlMs),
          } as never);
          return id;
        } catch (err) {
          if (!isDuplicateKeyError(err)) throw err;
        }
      }
      // All taken: free the places of holders that died, then look once more.
      const freed = await InFlightLease.collection.deleteMany({
        _id: { $in: ids },
        expires_at: { $lt: new Date() },
      } as never);
      if (freed.deletedCount === 0) return null;
    }
    return null;
  }
}
