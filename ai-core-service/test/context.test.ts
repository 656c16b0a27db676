import { createHash } from 'node:crypto';
import { createLogger } from '@context-qa/common/telemetry';
import { contextKeyFor, lookupContext } from '../src/domain/context';
import { contextAdmin } from '../src/domain/context-admin';
import { contextDeps, inTenant, TENANT } from './fakes';

describe('contextKeyFor', () => {
  test('when a contextKey is given, then it is used as is', () => {
    expect(contextKeyFor('Anything', 'Docs/Intro')).toBe('Docs/Intro');
  });
  test('when the prompt differs only in width, spacing and case, then the key is the same', () => {
    expect(contextKeyFor('  What   IS\tＤapr? ')).toBe(contextKeyFor('what is dapr?'));
    expect(contextKeyFor('what is dapr?')).not.toBe(contextKeyFor('what is redis?'));
  });
  test('when no contextKey is given, then the key is a sha256 of the normalised prompt, never its text', () => {
    expect(contextKeyFor('What is Dapr?')).toBe(`sha256:${createHash('sha256').update('what is dapr?').digest('hex')}`);
    expect(contextKeyFor('x'.repeat(300))).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});

describe('lookupContext (cache-aside)', () => {
  const setup = () => {
    const seen: string[] = [];
    const deps = contextDeps({ observe: (s, o) => seen.push(`${s}:${o}`) });
    return { cache: deps.cache, store: deps.store, seen, deps };
  };

  test('when the cache has the key, then the store is not read', async () => {
    const { cache, store, deps, seen } = setup();
    await cache.set('k', 'cached');
    store.failing = true;
    expect(await lookupContext('k', deps)).toEqual({ source: 'redis', text: 'cached', degraded: false });
    expect(seen).toEqual(['cache:hit']);
  });

  test('when only the store has it, then it is written back to the cache with the TTL', async () => {
    const { cache, store, deps } = setup();
    await store.set('k', 'durable');
    expect(await lookupContext('k', deps)).toEqual({ source: 'dynamodb', text: 'durable', degraded: false });
    await deps.writeBacks.drain();
    expect(cache.data.get('k')).toBe('durable');
    expect(cache.ttls.get('k')).toBe(60);
  });

  test('when the stored item expires sooner than the cache TTL, then the cache copy expires no later', async () => {
    const { cache, store, deps } = setup();
    await store.set('k', 'short-lived', 20);
    await lookupContext('k', deps);
    await deps.writeBacks.drain();
    expect(cache.ttls.get('k')).toBeGreaterThan(0);
    expect(cache.ttls.get('k')).toBeLessThanOrEqual(20);
  });

  test('when the cache fails, then it counts as a miss and the store answers', async () => {
    const { cache, store, deps, seen } = setup();
    cache.failing = true;
    await store.set('k', 'durable');
    expect(await lookupContext('k', deps)).toMatchObject({ source: 'dynamodb', degraded: false });
    expect(seen).toContain('cache:error');
  });

  test('when the store fails, then there is no context and the answer is degraded', async () => {
    const { store, deps } = setup();
    store.failing = true;
    expect(await lookupContext('k', deps)).toEqual({ source: 'none', degraded: true });
  });

  test('when nothing has the key, then source is none and not degraded', async () => {
    expect(await lookupContext('k', setup().deps)).toEqual({ source: 'none', degraded: false });
  });

  test('when a write-back is pending, then the answer does not wait for it, and drain() does', async () => {
    const { cache, store, deps } = setup();
    await store.set('k', 'durable');
    const held = cache.hold('write');
    let answered = false;
    void lookupContext('k', deps).then(() => (answered = true));
    await held.reached;
    await new Promise(setImmediate);
    expect(answered).toBe(true);
    let drained = false;
    const drain = deps.writeBacks.drain().then(() => (drained = true));
    await new Promise(setImmediate);
    expect(drained).toBe(false);
    held.release();
    await drain;
    expect(cache.data.get('k')).toBe('durable');
  });
});

describe('cache coherence: read-miss write-backs and admin writes interleaved with a slow cache', () => {
  const K = inTenant('k'); // where the admin routes keep context key k of TENANT
  /** A lookup that missed the cache and read OLD from the store, its write-back parked before it lands. */
  async function pendingWriteBack() {
    const deps = contextDeps();
    await deps.store.set(K, 'OLD');
    const held = deps.cache.hold('write');
    const looked = lookupContext(K, deps);
    await held.reached;
    return { deps, admin: contextAdmin(deps), held, looked };
  }

  test('when the context is deleted before the write-back lands, then the cache never serves the old text', async () => {
    const { deps, admin, held, looked } = await pendingWriteBack();
    expect(await admin.delete(TENANT, 'k')).toBe('invalidated');
    held.release();
    expect((await looked).text).toBe('OLD'); // read before the delete: fine
    await deps.writeBacks.drain();
    expect(deps.cache.data.get(K)).toBeUndefined();
    expect(await lookupContext(K, deps)).toEqual({ source: 'none', degraded: false });
  });

  test('when the context is overwritten before the write-back lands, then the cache holds the new text', async () => {
    const { deps, admin, held, looked } = await pendingWriteBack();
    expect(await admin.put(TENANT, 'k', 'NEW')).toBe('refreshed');
    held.release();
    await looked;
    await deps.writeBacks.drain();
    expect(deps.cache.data.get(K)).toBe('NEW');
    expect(await lookupContext(K, deps)).toEqual({ source: 'redis', text: 'NEW', degraded: false });
  });

  test('when two PUTs race and the first refresh lands last, then cache and store agree', async () => {
    const deps = contextDeps();
    const admin = contextAdmin(deps);
    const held = deps.cache.hold('write');
    const first = admin.put(TENANT, 'k', 'A');
    await held.reached; // A is in the store; its cache write is slow
    await admin.put(TENANT, 'k', 'B');
    held.release();
    await first;
    expect(deps.store.data.get(K)).toBe('B');
    expect(deps.cache.data.get(K)).toBe('B');
  });
});

describe('store failures are logged', () => {
  const capture = () => {
    const lines: Record<string, unknown>[] = [];
    return {
      lines,
      logger: createLogger('test', 'info', {
        write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>),
      }),
    };
  };

  test('when the cache and the store fail, then each is logged at warn with store, operation, key hash and cause', async () => {
    const { lines, logger } = capture();
    const deps = contextDeps({ logger });
    deps.cache.failing = true;
    deps.store.failing = true;
    expect(await lookupContext('secret key', deps)).toEqual({ source: 'none', degraded: true });
    expect(lines).toEqual([
      expect.objectContaining<Record<string, unknown>>({
        level: 40,
        store: 'fake-cache',
        op: 'read',
        keyHash: expect.stringMatching(/^[0-9a-f]{16}$/),
        err: expect.objectContaining({ message: 'fake-cache down' }),
      }),
      expect.objectContaining<Record<string, unknown>>({
        level: 40,
        store: 'fake-store',
        op: 'get',
        err: expect.objectContaining({ message: 'fake-store down' }),
      }),
    ]);
    expect(JSON.stringify(lines)).not.toContain('secret key');
  });

  test('when a write-back fails, then it is logged without the context text', async () => {
    const { lines, logger } = capture();
    const deps = contextDeps({ logger });
    await deps.store.set('k', 'CONTEXT-TEXT');
    deps.cache.failing = 'write';
    await lookupContext('k', deps);
    await deps.writeBacks.drain();
    expect(lines).toEqual([
      expect.objectContaining<Record<string, unknown>>({
        level: 40,
        store: 'fake-cache',
        op: 'write',
        err: expect.objectContaining({ message: 'fake-cache down' }),
      }),
    ]);
    expect(JSON.stringify(lines)).not.toContain('CONTEXT-TEXT');
  });
});

describe('tenants in the context stores', () => {
  test("when two tenants store the same context key, then each reads only its own text, and a bare key is no one's", async () => {
    const deps = contextDeps();
    const admin = contextAdmin(deps);
    await admin.put('team-a', 'pricing', 'A prices');
    await admin.put('team-b', 'pricing', 'B prices');
    expect(await admin.get('team-a', 'pricing')).toBe('A prices');
    expect(await admin.get('team-b', 'pricing')).toBe('B prices');
    expect(await admin.get('team-c', 'pricing')).toBeUndefined();
    expect([...deps.store.data.keys()].sort()).toEqual(['team-a::pricing', 'team-b::pricing']);
    expect(await admin.delete('team-b', 'pricing')).toBe('invalidated');
    expect(await admin.get('team-a', 'pricing')).toBe('A prices');
  });

  test('when a context key itself contains "::", then it still cannot reach another tenant (tenants have no ":")', async () => {
    const deps = contextDeps();
    const admin = contextAdmin(deps);
    await admin.put('team-a', 'x', 'A text');
    // team-b's key "a::x" is stored as "team-b::a::x"; no tenant name can end in "team-a" followed by "::x" from inside a key.
    expect(await admin.get('team-b', 'team-a::x')).toBeUndefined();
    expect(await admin.get('team', 'a::x')).toBeUndefined();
  });
});
