/** The limiter's decisions over a versioned store in memory: one decision per request, amounts, leases, ambiguous writes, the per-replica fallback. */
import { DeadlineExceeded } from '@context-qa/common/deadline';
import { casRecords, memoryKv, type VersionedKv } from '../src/adapters/limit-records-cas';
import {
  LimitStoreUnavailable,
  RateLimiter,
  type Admission,
  type Limits,
  type StoreFailure,
} from '../src/domain/rate-limiter';
import { FlakyKv, limiterOver, settledRecord } from './fakes';

const t0 = Date.UTC(2026, 10, 26, 12, 0, 10);
const limits = (over: Partial<Limits>): Limits => ({
  requestsPerMinute: 0,
  tokensPerMinute: 0,
  tokensPerDay: 0,
  maxInFlight: 0,
  ...over,
});
const admitted = (a: Admission) => {
  if (!a.ok) throw new Error(`refused: ${a.reason}`);
  return a;
};
const until = async (what: () => Promise<boolean>) => {
  while (!(await what())) await new Promise((r) => setTimeout(r, 2));
};

describe('one decision per request', () => {
  test('when requests refused for in_flight race for the last request of the minute, then none is refused for requests_per_minute', async () => {
    const { limiter } = limiterOver(new FlakyKv(), { clock: () => t0 });
    const l = limits({ requestsPerMinute: 2, maxInFlight: 1 });
    admitted(await limiter.admit('k', l, 0));
    const racing = await Promise.all([limiter.admit('k', l, 0), limiter.admit('k', l, 0), limiter.admit('k', l, 0)]);
    expect(racing.map((a) => (a.ok ? 'ok' : a.reason))).toEqual(['in_flight', 'in_flight', 'in_flight']);
  });

  test('when a request is refused for tokens, then it holds neither a request slot nor an in-flight slot', async () => {
    const { limiter, store } = limiterOver(new FlakyKv(), { clock: () => t0 });
    const l = limits({ requestsPerMinute: 2, tokensPerMinute: 100, maxInFlight: 1 });
    expect(await limiter.admit('k', l, 101)).toMatchObject({ ok: false, reason: 'tokens_per_minute' });
    expect(await store.get('limits:k')).toBeUndefined(); // nothing written
    admitted(await limiter.admit('k', l, 50));
  });
});

/** A seeded generator: a failure names its seed and replays. */
function mulberry32(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const INVALID = [
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  -1,
  -0.5,
  -1e15,
  -Number.MAX_VALUE,
  Number.MAX_VALUE,
  1e300,
  2 ** 53,
];

describe('amounts (property: random sequences of admits, charges and releases)', () => {
  test.each([1, 2, 3, 4, 5, 6, 7, 8])(
    'seed %i: no counter ever drops below what was admitted and charged; an invalid amount throws and writes nothing',
    async (seed) => {
      const random = mulberry32(seed);
      const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
      // Invalid, small, fractional, zero, huge (near 2^53 once summed).
      const anyAmount = () =>
        pick([
          () => pick(INVALID),
          () => Math.floor(random() * 500),
          () => random() * 50,
          () => 0,
          () => Math.floor(random() * 1e15),
        ])();
      const valid = (n: number) => n >= 0 && n <= Number.MAX_SAFE_INTEGER;
      const kv = new FlakyKv();
      const { limiter, store } = limiterOver(kv, { clock: () => t0 });
      const l = limits({ tokensPerMinute: 5e14, tokensPerDay: 1e15, maxInFlight: 3 });
      /** Every admitted request with what it counts: its reservation, then its last charge (released ones too). */
      const admissions: { admission: Extract<Admission, { ok: true }>; counts: number; live: boolean }[] = [];
      const settled = () => settledRecord(store, 'limits:k');
      let peak = 0;
      for (let step = 0; step < 80; step++) {
        const n = anyAmount();
        const writesBefore = kv.writes;
        const op = random();
        const target = admissions.length ? pick(admissions) : undefined;
        if (op < 0.45 || !target) {
          if (!valid(n)) {
            await expect(limiter.admit('k', l, n)).rejects.toThrow(RangeError);
            expect(kv.writes).toBe(writesBefore);
            continue;
          }
          const a = await limiter.admit('k', l, n);
          if (a.ok) admissions.push({ admission: a, counts: n, live: true });
        } else if (op < 0.8) {
          if (!valid(n)) {
            expect(() => target.admission.charge(n)).toThrow(RangeError);
            expect((await settled(), kv.writes)).toBe(writesBefore);
            continue;
          }
          target.admission.charge(n);
          target.counts = n;
        } else {
          target.admission.release();
          target.live = false;
        }
        const record = await settled();
        const owed = admissions.reduce((sum, a) => sum + a.counts, 0);
        // Doubles: once a counter held ~1e15 its fractions are rounded (to 1/8 there), whatever it holds later.
        peak = Math.max(peak, owed, record?.minuteTokens ?? 0);
        const slack = peak * 2 ** -48 + 1e-9;
        expect(record?.minuteTokens ?? 0).toBeGreaterThanOrEqual(owed - slack);
        expect(record?.dayTokens ?? 0).toBeGreaterThanOrEqual(owed - slack);
        expect(record?.minuteTokens ?? 0).toBeLessThanOrEqual(owed + slack); // and nothing counted twice
        expect(record?.requests ?? 0).toBe(admissions.length);
        expect(Object.keys(record?.leases ?? {})).toHaveLength(admissions.filter((a) => a.live).length);
      }
    },
  );
});

describe('leases', () => {
  test('when a release is lost (the store down for a moment), then the slot frees itself within the lease', async () => {
    const kv = new FlakyKv();
    let now = t0;
    let lost = 0;
    const { limiter } = limiterOver(kv, { clock: () => now, leaseSeconds: 10, onStoreError: () => lost++ });
    const l = limits({ maxInFlight: 1 });
    const first = admitted(await limiter.admit('k', l, 0));
    kv.failing = true;
    first.release();
    await until(async () => lost === 1);
    kv.failing = false;
    expect(await limiter.admit('k', l, 0)).toMatchObject({ ok: false, reason: 'in_flight' });
    now += 9_000;
    expect(await limiter.admit('k', l, 0)).toMatchObject({ ok: false, reason: 'in_flight' });
    now += 1_001;
    admitted(await limiter.admit('k', l, 0));
  });

  test('when a request runs longer than its lease, then the lease is renewed and its slot stays taken until it ends', async () => {
    jest.useFakeTimers({ now: t0 });
    try {
      const kv = new FlakyKv();
      const { limiter, store } = limiterOver(kv, { clock: () => Date.now(), leaseSeconds: 3 });
      const l = limits({ maxInFlight: 1 });
      const long = admitted(await limiter.admit('k', l, 0));
      await jest.advanceTimersByTimeAsync(30_000); // ten leases
      expect(await limiter.admit('k', l, 0)).toMatchObject({ ok: false, reason: 'in_flight' });
      long.release();
      await jest.advanceTimersByTimeAsync(0);
      expect(Object.keys((await store.get('limits:k'))!.leases)).toHaveLength(0);
      admitted(await limiter.admit('k', l, 0));
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('ambiguous writes', () => {
  test('when a write lands but its answer is lost (a timeout), then it is re-read and counted once', async () => {
    const kv = new FlakyKv();
    const { limiter, store } = limiterOver(kv, { clock: () => t0 });
    const l = limits({ requestsPerMinute: 10, tokensPerDay: 1000, maxInFlight: 5 });
    kv.lostResults = 1;
    const a = admitted(await limiter.admit('k', l, 40));
    expect(await store.get('limits:k')).toMatchObject({ requests: 1, dayTokens: 40 });
    kv.lostResults = 1;
    a.charge(25);
    await until(async () => kv.lostResults === 0);
    expect(await settledRecord(store, 'limits:k')).toMatchObject({ requests: 1, dayTokens: 25 });
    expect(kv.writes).toBe(2);
  });

  test('when a batch of 100 concurrent admissions lands but its answer is lost, then each is counted once', async () => {
    const kv = new FlakyKv();
    const { limiter, store } = limiterOver(kv, { clock: () => t0 });
    const l = limits({ requestsPerMinute: 1000, maxInFlight: 1000 });
    admitted(await limiter.admit('k', l, 0));
    kv.lostResults = 1;
    const burst = await Promise.all(Array.from({ length: 100 }, () => limiter.admit('k', l, 0)));
    expect(burst.filter((a) => a.ok)).toHaveLength(100);
    expect(await settledRecord(store, 'limits:k')).toMatchObject({ requests: 101 });
    expect(Object.keys((await store.get('limits:k'))!.leases)).toHaveLength(101);
  });

  test('when the last of several unknown writes landed, then the admission is the shared one (no fallback), and its release frees the shared lease', async () => {
    const kv = new ScriptedKv(['fail', 'fail', 'lost']);
    const errors: unknown[] = [];
    const { limiter, store } = limiterOver(kv, { clock: () => t0, onStoreError: (err) => errors.push(err) });
    const a = admitted(await limiter.admit('k', limits({ requestsPerMinute: 10, maxInFlight: 2 }), 0));
    expect(errors).toEqual([]);
    expect(await store.get('limits:k')).toMatchObject({ requests: 1 });
    a.release();
    await until(async () => Object.keys((await store.get('limits:k'))!.leases).length === 0);
  });

  test('when the time to decide runs out right after a write that landed, then the request is admitted, not refused as busy', async () => {
    jest.useFakeTimers({ now: t0 });
    try {
      // The write lands, then its answer comes back late (past the 2 s budget) as an error.
      const kv = new ScriptedKv(['lost'], () => jest.setSystemTime(Date.now() + 2500));
      const { limiter, store } = limiterOver(kv, { clock: () => t0 });
      admitted(await limiter.admit('k', limits({ requestsPerMinute: 10 }), 0));
      expect(await store.get('limits:k')).toMatchObject({ requests: 1 });
    } finally {
      jest.useRealTimers();
    }
  });
});

/** A versioned store whose saves follow a script: 'fail' throws without writing, 'lost' writes then throws; then saves work. */
class ScriptedKv implements VersionedKv {
  private readonly inner = memoryKv();
  constructor(
    private readonly script: ('fail' | 'lost')[],
    private readonly onLost = () => {},
  ) {}
  get(key: string) {
    return this.inner.get(key);
  }
  async save(key: string, value: unknown, opts: { ttlSeconds?: number; etag?: string; firstWrite?: boolean }) {
    const next = this.script.shift();
    if (next === 'fail') throw new Error('limit store: connection reset');
    const written = await this.inner.save(key, value, opts);
    if (next === 'lost') {
      this.onLost();
      throw new DeadlineExceeded('limit store save took longer than 300 ms');
    }
    return written;
  }
}

describe('the store unreachable', () => {
  test('when the shared store fails, then a per-replica record decides with each limit divided by the replicas assumed', async () => {
    const kv = new FlakyKv();
    const errors: unknown[] = [];
    const { limiter } = limiterOver(kv, { clock: () => t0, onStoreError: (err) => errors.push(err) });
    kv.failing = true;
    const l = limits({ requestsPerMinute: 6, maxInFlight: 4 });
    const decided = [];
    for (let i = 0; i < 4; i++) decided.push(await limiter.admit('k', l, 0));
    // Two replicas assumed: 3 requests a minute and 2 in flight on this one.
    expect(decided.map((a) => (a.ok ? 'ok' : a.reason))).toEqual(['ok', 'ok', 'in_flight', 'in_flight']);
    expect(errors).toHaveLength(4);
    admitted(decided[0]!).release();
    expect(await limiter.admit('k', l, 0)).toMatchObject({ ok: true });
    expect(await limiter.admit('k', l, 0)).toMatchObject({ ok: false, reason: 'requests_per_minute' });
  });
});

describe('store failures reported', () => {
  /** A limiter over `kv` whose store failures are listed by what each cost. */
  const reporting = (kv: FlakyKv, failClosed: boolean) => {
    const failures: StoreFailure[] = [];
    const limiter = new RateLimiter(casRecords(kv, 'test limits'), {
      failClosed,
      leaseSeconds: 3,
      fallback: casRecords(memoryKv(), 'per-replica limits'),
      fallbackReplicas: 2,
      onStoreError: (_err, failure) => failures.push(failure),
      clock: () => t0,
    });
    return { limiter, failures };
  };

  test('when the store fails and the limiter fails closed, then the refusal (503) is reported as fail_closed', async () => {
    const kv = new FlakyKv();
    const { limiter, failures } = reporting(kv, true);
    kv.failing = true;
    await expect(limiter.admit('k', limits({ requestsPerMinute: 5 }), 0)).rejects.toThrow(LimitStoreUnavailable);
    expect(failures).toEqual(['fail_closed']);
  });

  test('when the store fails after an admission, then its lost release and charge are reported as such, apart from decisions made by the fallback', async () => {
    const kv = new FlakyKv();
    const { limiter, failures } = reporting(kv, false);
    const a = admitted(await limiter.admit('k', limits({ tokensPerDay: 1000, maxInFlight: 2 }), 100));
    kv.failing = true;
    a.release();
    a.charge(40);
    await until(async () => failures.length === 2);
    admitted(await limiter.admit('k', limits({ tokensPerDay: 1000, maxInFlight: 2 }), 100));
    expect(failures).toEqual(['release', 'charge', 'fallback']);
  });
});

describe('batching', () => {
  test('when a request is released and charged in the same tick, then both land in one write', async () => {
    const kv = new FlakyKv();
    const { limiter, store } = limiterOver(kv, { clock: () => t0 });
    const a = admitted(await limiter.admit('k', limits({ tokensPerDay: 1000, maxInFlight: 2 }), 300));
    await new Promise((r) => setImmediate(r)); // the record's queue idle, as when a response ends
    const writes = kv.writes;
    a.release();
    a.charge(120);
    expect(await settledRecord(store, 'limits:k')).toMatchObject({ dayTokens: 120, leases: {} });
    expect(kv.writes).toBe(writes + 1);
  });
});

test('when a key has no token limit, then its charge writes nothing (one write per request for requests per minute)', async () => {
  const kv = new FlakyKv();
  const { limiter, store } = limiterOver(kv, { clock: () => t0 });
  const a = admitted(await limiter.admit('k', limits({ requestsPerMinute: 10 }), 0));
  a.release();
  a.charge(500);
  expect(await settledRecord(store, 'limits:k')).toMatchObject({ requests: 1, dayTokens: 0 });
  expect(kv.writes).toBe(1);
});

test('when two replicas (two limiters over one store) race 60 requests for a limit of 25, then exactly 25 are admitted', async () => {
  const kv = new FlakyKv();
  const [a, b] = [limiterOver(kv, { clock: () => t0 }).limiter, limiterOver(kv, { clock: () => t0 }).limiter];
  const l = limits({ requestsPerMinute: 25, tokensPerMinute: 10_000, maxInFlight: 40 });
  const decided = await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 ? a : b).admit('k', l, 7)));
  expect(decided.filter((d) => d.ok)).toHaveLength(25);
  expect(decided.filter((d) => !d.ok).map((d) => !d.ok && d.reason)).toEqual(
    Array.from({ length: 35 }, () => 'requests_per_minute'),
  );
});
