/**
 * Streamed `fastest` races through the real SDKs against the simulator: a
 * healthy model that always loses must not be judged by the race it lost.
 */
import { Deadline, type ModelName } from '@context-qa/common';
import { useSimulator } from '@context-qa/model-sim';
import { azureOpenAIModel } from '../src/adapters/models/azure-openai';
import { bedrockModel } from '../src/adapters/models/bedrock';
import { GuardedModel } from '../src/adapters/models/guarded';
import { streamChat, type ChatDeps, type ChatSink, type PreparedChat } from '../src/domain/chat';
import { contextDeps } from './fakes';

const MAVERICK = 'us.meta.llama4-maverick-17b-instruct-v1:0';
const RACES = 4;
const BREAKER = { timeoutMs: 5000, errorThresholdPercentage: 50, resetTimeoutMs: 60_000, volumeThreshold: 3, rollingCountTimeoutMs: 60_000, maxInFlight: 10 };

const clouds = useSimulator();

const quietSink = (): ChatSink => ({ start: () => {}, delta: () => {}, end: () => {}, fail: () => {} });

test('when a healthy model always loses fastest stream races, then it is stopped by the first token, never judged a timeout, and its breaker stays closed', async () => {
  const guarded: Record<ModelName, GuardedModel> = {
    gpt4: new GuardedModel(azureOpenAIModel({ name: 'gpt4', endpoint: clouds.sim.url, deployment: 'gpt-4', apiVersion: '2024-10-21', apiKey: async () => 'sim-key' }), BREAKER),
    llama4: new GuardedModel(bedrockModel({ name: 'llama4', region: 'us-east-1', modelId: MAVERICK, endpoint: clouds.sim.url }), BREAKER),
  };
  // Llama answers, only slower: its whole stream outlives the stream bound below, its first token does not.
  await clouds.admin.setFault(MAVERICK, { latencyMs: 200, chunkDelayMs: 200 });
  const deps = {
    context: contextDeps(),
    preference: ['gpt4', 'llama4'],
    autoStrategy: 'fastest',
    agreementThreshold: 0.8,
    contextBudgetChars: 1000,
    defaultMaxTokens: 200,
    runModel: (m, r, b, o) => guarded[m]!.run(r, b, o),
    // A stream bound shorter than the loser's whole answer: what REQUEST_TIMEOUT_MS was to a loser left running.
    streamModel: (m, r, b, o) => guarded[m]!.runStream(r, b, { ...o, idleMs: 2000, maxMs: 1000 }),
  } satisfies ChatDeps;
  try {
    const losers = [];
    for (let i = 0; i < RACES; i++) {
      const budget = new Deadline(10_000);
      const prepared: PreparedChat = {
        route: { order: ['gpt4', 'llama4'], strategy: 'fastest' },
        generate: { system: 'Answer briefly.', user: `race ${i}`, maxTokens: 200 },
        question: `race ${i}`,
        context: { source: 'none', degraded: false, key: 'race' },
      };
      const out = await streamChat(prepared, budget, deps, quietSink());
      budget.done(); // the response has ended: a loser still running is on its own now
      expect(out.model).toBe('gpt4');
      await guarded.llama4!.settle();
      await new Promise((r) => setImmediate(r)); // streamChat records the loser's outcome after its call settles
      losers.push(out.models.llama4);
    }
    // The first race proves it alive at its first token (then stopped); later ones stop it at the winner's first token.
    for (const outcome of losers) expect(outcome).toMatchObject({ status: 'skipped' });
    expect(losers.map((o) => o?.code)).toEqual(['not_needed', ...Array<string>(RACES - 1).fill('cancelled')]);
    expect(guarded.llama4!.state).toBe('closed');
    expect(guarded.llama4!.stats).toMatchObject({ failures: 0 });
    // The simulator sees the last stopped stream's connection close a moment after we close it: wait for it (bounded).
    let route = await clouds.admin.route('converse-stream', MAVERICK);
    for (const end = Date.now() + 2000; route.abandoned < RACES && Date.now() < end; route = await clouds.admin.route('converse-stream', MAVERICK)) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(route).toMatchObject({ requests: RACES, errors: 0, abandoned: RACES });
  } finally {
    Object.values(guarded).forEach((g) => g.shutdown());
    await clouds.admin.heal();
  }
});
