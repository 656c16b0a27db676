/**
 * Strategy fuse through real sidecars and the simulator, whose synthesis
 * answers quote every draft they were given: each fusion outcome, with one
 * model hanging and with the synthesis call failing.
 */
import type { AskResponse } from '@context-qa/common/contract';
import type { ChatCompletion } from '@context-qa/common/openai';
import type { SimulatorAdmin } from '@context-qa/model-sim';
import { DEV_KEYS, serviceApps, useStack } from '@context-qa/testkit';

const GPT = 'gpt-4';
const LLAMA = 'us.meta.llama4-maverick-17b-instruct-v1:0';
/** Forty distinct words: drafts quoting it share enough words to pass the 0.8 agreement threshold. */
const LONG_CONTEXT = Array.from({ length: 40 }, (_, i) => `fact${i}`).join(' ');

describe('strategy fuse, end to end', () => {
  let sim: SimulatorAdmin;

  const stack = useStack(
    {
      apps: serviceApps({
        aiCoreEnv: { MODEL_TIMEOUT_MS: '2000', FUSE_AGREEMENT_THRESHOLD: '0.8', LOG_LEVEL: 'warn' },
        gatewayEnv: { LOG_LEVEL: 'warn' },
      }),
    },
    { afterEach: 'heal-and-reset' },
  );

  beforeAll(async () => {
    sim = stack.simulator;
    await stack.seedContextStore({ 'fuse:long': LONG_CONTEXT });
  });

  const ask = async (body: Record<string, unknown>) => {
    const res = await fetch(`${stack.appUrl('gateway-service')}/v1/prompt`, {
      method: 'POST',
      headers: { authorization: `Bearer ${DEV_KEYS.ask}`, 'content-type': 'application/json' },
      body: JSON.stringify({ strategy: 'fuse', ...body }),
    });
    return { status: res.status, body: (await res.json()) as AskResponse };
  };

  test('when the drafts differ, then the preferred model synthesises the answer from both drafts', async () => {
    const { status, body } = await ask({ prompt: 'Which model is this?' });
    expect(status).toBe(200);
    expect(body.fusion).toMatchObject({
      outcome: 'synthesised',
      by: 'gpt4',
      from: ['gpt4', 'llama4'],
      synthesis: { status: 'ok' },
    });
    expect(body.fusion!.similarity).toBeLessThan(0.8);
    expect(body.answer).toMatch(/^\[gpt-4\] Synthesis of 2 drafts/);
    // Both drafts reached the synthesising model: it quotes each.
    for (const m of ['gpt4', 'llama4']) expect(body.answer).toContain(body.models[m]!.text!.slice(0, 60));
    expect(await sim.requests('chat', GPT)).toBe(2);
    expect(body.degraded).toBe(false);
  });

  test('when the drafts agree, then the preferred draft is the answer and no synthesis call is made', async () => {
    const { body } = await ask({ prompt: 'What are the facts?', contextKey: 'fuse:long' });
    expect(body.fusion).toMatchObject({ outcome: 'agreed', by: 'gpt4' });
    expect(body.fusion!.similarity).toBeGreaterThanOrEqual(0.8);
    expect(body.answer).toBe(body.models.gpt4!.text);
    expect(await sim.requests('chat', GPT)).toBe(1);
  });

  test("when one model hangs, then the other's draft is the answer, degraded", async () => {
    await sim.setFault(LLAMA, { hang: true });
    const { body } = await ask({ prompt: 'Is one enough?' });
    expect(body).toMatchObject({
      answeredBy: 'gpt4',
      degraded: true,
      fusion: { outcome: 'single', from: ['gpt4'] },
      models: { llama4: { code: 'timeout' } },
    });
    expect(body.answer).toBe(body.models.gpt4!.text);
  });

  test('when the synthesis call fails, then the preferred draft is the answer, degraded, and the failure shows', async () => {
    await sim.setFault(GPT, { failRate: 1, error: 'internal', onlyIf: '<draft-' }); // only the synthesis prompt fails
    const { body } = await ask({ prompt: 'Will synthesis fail?' });
    expect(body).toMatchObject({
      answeredBy: 'gpt4',
      degraded: true,
      fusion: { outcome: 'single', synthesis: { status: 'error', code: 'upstream_error' } },
    });
    expect(body.answer).toBe(body.models.gpt4!.text);
    expect(body.models.llama4!.status).toBe('ok'); // its draft was there; only the synthesis failed
  });

  test('when the OpenAI-compatible route asks for model "fuse", then the fused answer; streamed, a 400', async () => {
    const chat = (stream: boolean) =>
      fetch(`${stack.appUrl('gateway-service')}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${DEV_KEYS.ask}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'fuse', stream, messages: [{ role: 'user', content: 'Which model is this?' }] }),
      });
    const whole = (await (await chat(false)).json()) as ChatCompletion;
    expect(whole.choices[0]!.message.content).toMatch(/Synthesis of 2 drafts/);
    expect((await chat(true)).status).toBe(400);
  });
});
