/**
 * Limit records updated by compare-and-set over any store with versions
 * (ETags): read the record and its ETag, decide, write with that ETag
 * (first-write concurrency), and on a conflict read again. No store needs an
 * atomic increment or a script, so the backend stays a component YAML away.
 *
 * Within one replica, the updates waiting on one record go as one batch: one
 * read, each decided in arrival order, one write. A hot key (a burst from one
 * caller, which is what limits are for) then costs one compare-and-set per
 * round instead of one per request, and conflicts come only from other replicas.
 *
 * Every write carries its own id (LimitRecord.applied). A write whose result
 * is unknown (a timeout after the store applied it, a 500) is re-read: when
 * the record carries its id, the batch is answered with what that write
 * decided; otherwise it is decided again (with the ETag, at most one of the
 * two writes can land). Before giving up (too many unknown writes, the time
 * budget spent) the record is read once more for the same reason: an
 * admission that landed is answered as such, never refused or decided again
 * by the fallback while the shared record counts it.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { asRecord, withWriteId, type LimitRecord } from '../domain/limit-record';
import { CounterBusy, type LimitStore } from '../domain/ports';

/** A key-value store with versions: what the Dapr state API offers (stateApi in @context-qa/common). */
export interface VersionedKv {
  get(key: string): Promise<{ value: unknown; etag?: string } | undefined>;
  /** true: written; false: the ETag (or, without one, create-only) condition failed, or a create-only write was lost. */
  save(
    key: string,
    value: unknown,
    opts: { ttlSeconds?: number; etag?: string; firstWrite?: boolean },
  ): Promise<boolean>;
}

/** How long one batch may keep losing to other replicas before its updates are refused as busy. */
const CAS_BUDGET_MS = 2000;
/** Writes with an unknown result in a row before the store counts as failing. */
const MAX_UNKNOWN_WRITES = 2;

interface Waiting {
  change(stored: LimitRecord | undefined): { record?: LimitRecord };
  ttlSeconds: number;
  resolve(r: unknown): void;
  reject(err: unknown): void;
}

type Outcome = { result: unknown } | { error: unknown };

/** Each change in arrival order, each seeing the record as the ones before it left it; `record`: what to write, if anything changed. */
function decideAll(batch: Waiting[], stored: LimitRecord | undefined): { record?: LimitRecord; outcomes: Outcome[] } {
  let record = stored;
  let changed = false;
  // A change that throws (a programming error) fails alone, and writes nothing.
  const outcomes = batch.map((u): Outcome => {
    try {
      const result = u.change(record);
      if (result.record) [record, changed] = [result.record, true];
      return { result };
    } catch (error) {
      return { error };
    }
  });
  return { ...(changed && record ? { record } : {}), outcomes };
}

const settle = (batch: Waiting[], outcomes: Outcome[]) =>
  batch.forEach((u, i) => {
    const o = outcomes[i]!;
    if ('error' in o) u.reject(o.error);
    else u.resolve(o.result);
  });

export function casRecords(kv: VersionedKv, name: string): LimitStore & { conflicts: () => number } {
  const waiting = new Map<string, Waiting[]>();
  let conflicts = 0;

  async function drain(key: string): Promise<void> {
    await Promise.resolve(); // updates sent in the same tick (a release and its charge) join the first batch
    for (let batch = waiting.get(key)!; batch.length > 0; batch = waiting.get(key)!) {
      waiting.set(key, []); // later arrivals form the next batch
      await apply(key, batch).catch((err) => batch.forEach((u) => u.reject(err)));
    }
    waiting.delete(key);
  }

  /** One compare-and-set for the whole batch; each change sees the record as the ones before it left it. */
  async function apply(key: string, batch: Waiting[]): Promise<void> {
    const giveUpAt = Date.now() + CAS_BUDGET_MS;
    /** Our writes (a lost answer or a lost create may hide one that landed), by write id, with what each decided: at most one can have landed. */
    const unknown = new Map<string, Outcome[]>();
    let unknownInARow = 0;
    const landedIn = (stored: LimitRecord | undefined) =>
      stored?.applied.map((id) => unknown.get(id)).find((o) => o !== undefined);
    /** Giving up: one more read first, so a write that landed is answered, not decided again elsewhere (counted twice). */
    const giveUp = async (err: unknown) => {
      const landed =
        unknown.size > 0 ? landedIn(asRecord((await kv.get(key).catch(() => undefined))?.value)) : undefined;
      if (!landed) throw err;
      settle(batch, landed);
    };
    for (let attempt = 1; Date.now() < giveUpAt; attempt++) {
      const got = await kv.get(key);
      const stored = asRecord(got?.value);
      const landed = landedIn(stored);
      if (landed) return settle(batch, landed);
      const { record, outcomes } = decideAll(batch, stored);
      if (!record) return settle(batch, outcomes);
      const writeId = randomBytes(6).toString('base64url');
      // Every write is remembered: one the store reports lost (a failed create-only write is a conflict, stateApi) may be ours.
      unknown.set(writeId, outcomes);
      let written: boolean;
      try {
        const ttlSeconds = Math.max(...batch.map((u) => u.ttlSeconds));
        written = await kv.save(key, withWriteId(record, writeId), {
          ttlSeconds,
          firstWrite: true,
          ...(got?.etag ? { etag: got.etag } : {}),
        });
      } catch (err) {
        // The write may have landed: read again and see.
        if (++unknownInARow > MAX_UNKNOWN_WRITES) return giveUp(err);
        continue;
      }
      if (written) return settle(batch, outcomes);
      unknownInARow = 0;
      conflicts++;
      await sleep(Math.random() * 3 * Math.min(attempt, 8)); // spread the replicas' retries
    }
    return giveUp(new CounterBusy(`${name}: writes to one record kept conflicting for ${CAS_BUDGET_MS} ms`));
  }

  return {
    conflicts: () => conflicts,
    async get(key) {
      return asRecord((await kv.get(key))?.value);
    },
    update: <T extends { record?: LimitRecord }>(
      key: string,
      change: (stored: LimitRecord | undefined) => T,
      ttlSeconds: number,
    ) =>
      new Promise<T>((resolve, reject) => {
        const u: Waiting = { change, ttlSeconds, resolve: (r) => resolve(r as T), reject };
        const queue = waiting.get(key);
        if (queue) return void queue.push(u);
        waiting.set(key, [u]);
        void drain(key);
      }),
  };
}

/** This process's own versioned map: the per-replica fallback's store (atomic by construction; values copied in and out). */
export function memoryKv(): VersionedKv {
  const data = new Map<string, { json: string; version: number }>();
  return {
    get: (key) => {
      const hit = data.get(key);
      return Promise.resolve(hit ? { value: JSON.parse(hit.json) as unknown, etag: String(hit.version) } : undefined);
    },
    save: (key, value, opts) => {
      const hit = data.get(key);
      if (opts.etag ? hit?.version !== Number(opts.etag) : opts.firstWrite && hit) return Promise.resolve(false);
      data.set(key, { json: JSON.stringify(value), version: (hit?.version ?? 0) + 1 });
      return Promise.resolve(true);
    },
  };
}
