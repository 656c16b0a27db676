/**
 * Streamed `fastest` races through the real SDKs against the simulator: a
 * healthy model that always loses must not be judged by the race it lost.
 */
import type { ModelName, ModelOutcome } from '@context-qa/common/contract';
import { Deadline } from '@context-qa/common/deadline';
import { useSimulator } from '@context-qa/model-sim';
import { azureOpenAIModel } from '../src/adapters/models/azure-openai';
import { bedrockModel } from '../src/adapters/models/bedrock';
import { GuardedModel } from '../src/adapters/models/guarded';
import { AnswerPipeline } from '../src/domain/answer/pipeline';
import type { AnswerSink, Question } from '../src/domain/answer/question';
import type { Models } from '../src/domain/ports';
import { contextDeps, TENANT } from './fakes';

const MAVERICK = 'us.meta.llama4-maverick-17b-instruct-v1:0';
const RACES = 4;
const BREAKER = {
  timeoutMs: 5000,
  errorThresholdPercentage: 50,
  resetTimeoutMs: 60_000,
  volumeThreshold: 3,
  rollingCountTimeoutMs: 60_000,
  maxInFlight: 10,
};

const clouds = useSimulator();

const quietSink = (): AnswerSink => ({ start: () => {}, delta: () => {}, end: () => {}, fail: () => {} });

test('when a healthy model always loses fastest stream races, then it is stopped by the first token, never judged a timeout, and its breaker stays closed', async () => {
  const guarded: Record<ModelName, GuardedModel> = {
    gpt4: new GuardedModel(
      azureOpenAIModel({
        name: 'gpt4',
        endpoint: clouds.sim.url,
        deployment: 'gpt-4',
        apiVersion: '2024-10-21',
        apiKey: async () => 'sim-key',
      }),
      BREAKER,
    ),
    llama4: new GuardedModel(
      bedrockModel({ name: 'llama4', region: 'us-east-1', modelId: MAVERICK, endpoint: clouds.sim.url }),
      BREAKER,
    ),
  };
  // Llama answers, only slower: its whole stream outlives the stream bound below, its first token does not.
  await clouds.admin.setFault(MAVERICK, { latencyMs: 200, chunkDelayMs: 200 });
  /** Each model's last outcome, as its call settled (a loser's after the answer has gone). */
  const settled: Record<ModelName, ModelOutcome> = {};
  const models: Models = {
    run: (m, r, b, o) => guarded[m]!.run(r, b, o),
    // A stream bound shorter than the loser's whole answer: what REQUEST_TIMEOUT_MS was to a loser left running.
    stream: (m, r, b, o) =>
      guarded[m]!.runStream(r, b, { ...o, idleMs: 2000, maxMs: 1000 }).then((outcome) => (settled[m] = outcome)),
  };
  const pipeline = new AnswerPipeline({
    context: contextDeps(),
    models,
    contextBudgetChars: 1000,
    defaultMaxTokens: 200,
    agreementThreshold: 0.8,
  });
  try {
    const losers = [];
    for (let i = 0; i < RACES; i++) {
      const budget = new Deadline(10_000);
      const question: Question = {
        via: 'chat',
        route: { order: ['gpt4', 'llama4'], strategy: 'fastest' },
        question: `race ${i}`,
        instructions: [],
        history: [],
        contextKey: 'race',
      };
      const out = await pipeline.answer(question, budget, { tenant: TENANT, sink: quietSink() });
      budget.done(); // the response has ended: a loser still running is on its own now
      expect(out.answeredBy).toBe('gpt4');
      await guarded.llama4!.settle();
      await new Promise((r) => setImmediate(r)); // the loser's outcome is recorded after its call settles
      losers.push(settled['llama4']);
    }
    // The first race proves it alive at its first token (then stopped); later ones stop it at the winner's first token.
    for (const outcome of losers) expect(outcome).toMatchObject({ status: 'skipped' });
    expect(losers.map((o) => o?.code)).toEqual(['not_needed', ...Array<string>(RACES - 1).fill('cancelled')]);
    expect(guarded.llama4!.state).toBe('closed');
    expect(guarded.llama4!.stats).toMatchObject({ failures: 0 });
    // The simulator sees the last stopped stream's connection close a moment after we close it: wait for it (bounded).
    let route = await clouds.admin.route('converse-stream', MAVERICK);
    for (
      const end = Date.now() + 2000;
      route.abandoned < RACES && Date.now() < end;
      route = await clouds.admin.route('converse-stream', MAVERICK)
    ) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(route).toMatchObject({ requests: RACES, errors: 0, abandoned: RACES });
  } finally {
    Object.values(guarded).forEach((g) => g.shutdown());
    await clouds.admin.heal();
  }
});
