/**
 * What a key is charged, through real sidecars and the simulator: a request
 * that fails validation takes nothing; every model call of a request is
 * charged on every route (not only the answering model's); a request on which
 * no model ran gives its reservation back; a stream cut off pays what it
 * produced, not its whole estimate.
 */
import { sha256Hex } from '@context-qa/common/crypto';
import { devSecrets, serviceApps, useStack, waitFor } from '@context-qa/testkit';

const ADMIN_KEY = 'cqa_test_spend_admin_61c2d9';
const keyOf = (id: string) => `cqa_test_spend_${id}_4e7a10`;
const KEY_IDS = ['reset', 'prompt', 'chat', 'none', 'refused', 'cut'];

interface KeyUsage {
  minute: { requests: number; tokens: number };
  day: { tokens: number };
  inFlight: number;
}

interface Usage {
  inputTokens: number;
  outputTokens: number;
}

function secrets(): Record<string, unknown> {
  const keys = [
    // A budget so large it never refuses: these tests read what is charged, not when it runs out.
    ...KEY_IDS.map((id) => ({
      id,
      scope: 'ask',
      sha256: sha256Hex(keyOf(id)),
      limits: { tokensPerDay: 10_000_000, tokensPerMinute: 1_000_000 },
    })),
    { id: 'ops', scope: 'admin', sha256: sha256Hex(ADMIN_KEY) },
  ];
  return { ...devSecrets(), 'gateway-api-keys': JSON.stringify(keys) };
}

describe('what a key is charged (components/local)', () => {
  let gateway: string;

  const stack = useStack(
    {
      secrets: secrets(),
      apps: serviceApps({
        aiCoreEnv: { LOG_LEVEL: 'warn' },
        gatewayEnv: { LOG_LEVEL: 'warn', RATE_LIMIT_ASSUMED_CONTEXT_TOKENS: '0' },
      }),
    },
    { afterEach: 'heal' },
  );

  beforeAll(() => {
    gateway = stack.appUrl('gateway-service');
  });

  const post = (path: string, id: string, body: unknown, init: RequestInit = {}) =>
    fetch(`${gateway}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${keyOf(id)}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      ...init,
    });
  const usage = async (id: string) =>
    (await (
      await fetch(`${gateway}/v1/usage/${id}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })
    ).json()) as KeyUsage;
  /** The charge is settled as the response ends: wait until nothing of the key is in flight and its count stops moving. */
  const settled = async (id: string) => {
    let last = -1;
    await waitFor(
      `${id}'s usage to settle`,
      async () => {
        const u = await usage(id);
        const stable = u.inFlight === 0 && u.day.tokens === last;
        last = u.day.tokens;
        return stable;
      },
      10_000,
    );
    return usage(id);
  };
  const sum = (models: Record<string, { usage?: Usage }>) =>
    Object.values(models).reduce((n, o) => n + (o.usage ? o.usage.inputTokens + o.usage.outputTokens : 0), 0);

  test.each(['/v1/prompt', '/prompt'])(
    'when %s gets maxTokens -1e15, then it is refused 400 and the key’s counters are unchanged',
    async (path) => {
      expect((await post('/v1/prompt', 'reset', { prompt: 'a first question', strategy: 'primary' })).status).toBe(200);
      const before = await settled('reset');
      expect(before.day.tokens).toBeGreaterThan(0);
      const bad = await post(path, 'reset', { prompt: 'reset my budget', maxTokens: -1e15 });
      expect(bad.status).toBe(400);
      const after = await settled('reset');
      expect(after.day.tokens).toBe(before.day.tokens);
      expect(after.minute.tokens).toBe(before.minute.tokens);
      expect(after.minute.requests).toBe(before.minute.requests);
    },
  );

  test('when both models answer on /v1/prompt and on the chat route, then each route charges both calls, not only the answer', async () => {
    const question = 'What does a key pay for?';
    const prompt = await post('/v1/prompt', 'prompt', { prompt: question, strategy: 'both', maxTokens: 64 });
    expect(prompt.status).toBe(200);
    const answer = (await prompt.json()) as { models: Record<string, { usage?: Usage }> };
    const bothCalls = sum(answer.models);
    expect(Object.values(answer.models).filter((o) => o.usage)).toHaveLength(2);
    expect((await settled('prompt')).day.tokens).toBe(bothCalls);

    // The same question on the chat route builds the same prompt for each model: the same spend.
    const chat = await post('/v1/chat/completions', 'chat', {
      model: 'both',
      max_tokens: 64,
      messages: [{ role: 'user', content: question }],
    });
    expect(chat.status).toBe(200);
    const completion = (await chat.json()) as { usage: { total_tokens: number } };
    expect(completion.usage.total_tokens).toBeLessThan(bothCalls); // the answer's own usage stays its own
    expect((await settled('chat')).day.tokens).toBe(bothCalls);
  });

  test('when no model runs (an unknown model, every provider rejecting the request), then the reservation is given back', async () => {
    const unknown = await post('/v1/chat/completions', 'none', {
      model: 'no-such-model',
      messages: [{ role: 'user', content: 'hello?' }],
    });
    expect(unknown.status).toBe(404);
    expect((await settled('none')).day.tokens).toBe(0);

    await stack.simulator.setFault('*', { failRate: 1, error: 'validation' });
    const rejected = await post('/v1/prompt', 'refused', { prompt: 'rejected everywhere', strategy: 'both' });
    expect(rejected.status).toBeGreaterThanOrEqual(400);
    expect((await settled('refused')).day.tokens).toBe(0);
  });

  test('when the caller stops a stream after its first tokens, then the key pays what was produced, not the estimate', async () => {
    await stack.simulator.setFault('*', { chunkDelayMs: 300 });
    const stop = new AbortController();
    const res = await post(
      '/v1/chat/completions',
      'cut',
      {
        model: 'llama4',
        stream: true,
        max_tokens: 2000,
        messages: [{ role: 'user', content: 'a long answer, please' }],
      },
      { signal: stop.signal },
    );
    expect(res.status).toBe(200);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    // Stop once two content chunks have arrived (the simulator sends many more, 300 ms apart).
    while (text.split('"content":"').length < 4) {
      const { value, done } = await reader.read();
      if (done) throw new Error('the stream ended before the caller stopped it');
      text += new TextDecoder().decode(value);
    }
    stop.abort();
    const charged = (await settled('cut')).day.tokens;
    expect(charged).toBeGreaterThan(0);
    expect(charged).toBeLessThan(2000); // the reservation covered 2000 output tokens at least
  });
});
