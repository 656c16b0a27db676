/** The strategies' one rule for whole and streamed answers: the first call to claim the answer wins, and after a claim there is no fallback. */
import type { ModelOutcome } from '@context-qa/common/contract';
import { STRATEGY_RUNNERS, type Runner } from '../src/domain/strategies';

const ok = (text: string): ModelOutcome => ({ status: 'ok', text, latencyMs: 1 });
const failed: ModelOutcome = { status: 'error', code: 'upstream_error', latencyMs: 1 };
const tick = () => new Promise((r) => setImmediate(r));

test('when fastest runs whole calls, then the first to end ok wins and a slower one is told it lost and counts as not needed', async () => {
  const lost: string[] = [];
  const run: Runner = async (m, o) => {
    if (m === 'quick') return ok(m);
    // The slow one answers only once it is told it lost.
    await new Promise((r) => o.lostRace?.addEventListener('abort', r, { once: true }));
    lost.push(m);
    return ok(m);
  };
  const out = await STRATEGY_RUNNERS.fastest(['slow', 'quick'], run);
  expect(out).toMatchObject({ quick: { status: 'ok' }, slow: { code: 'not_needed' } });
  await tick();
  expect(lost).toEqual(['slow']);
});

test('when a fastest stream claims the answer at its first token and then fails, then the race ends with its failure: no fallback', async () => {
  const run: Runner = async (m, o) => {
    if (m === 'first') {
      expect(o.claim()).toBe(true); // its first token
      await tick();
      await tick();
      return failed;
    }
    await tick();
    expect(o.claim()).toBe(false); // too late: the answer is taken
    return ok(m);
  };
  const out = await STRATEGY_RUNNERS.fastest(['first', 'second'], run);
  expect(out['first']).toEqual(failed);
  expect(out['second']).toMatchObject({ code: 'not_needed' });
});

test('when primary streams and the preferred model fails after its first token, then the next model is never called', async () => {
  const called: string[] = [];
  const run: Runner = async (m, o) => {
    called.push(m);
    o.claim();
    return failed;
  };
  const out = await STRATEGY_RUNNERS.primary(['a', 'b'], run);
  expect(called).toEqual(['a']);
  expect(out['b']).toMatchObject({ code: 'not_needed' });
});

test('when a runner rejects (against its contract), then that model failed; the strategy still settles', async () => {
  for (const strategy of ['both', 'fastest', 'primary', 'sequential'] as const) {
    const out = await STRATEGY_RUNNERS[strategy](['a'], () => Promise.reject(new Error('bug')));
    expect(out['a']).toMatchObject({ status: 'error', code: 'upstream_error' });
  }
});
