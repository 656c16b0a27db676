import { aiCoreMetrics } from '../src/metrics';

/** ai-core's model and context metrics: what each observed outcome becomes on a scrape. */
describe('ai-core metrics', () => {
  const setup = () => {
    const m = aiCoreMetrics({
      pendingWriteBacks: () => 0,
      genAi: (model) => (model === 'gpt4' ? { provider: 'azure.ai.openai', model: 'gpt-4o' } : undefined),
    });
    type Sample = Record<string, string | number | undefined> & { metricName?: string };
    const scrape = async (name: string): Promise<Sample[]> =>
      (await m.registry.getSingleMetric(name)!.get()).values.map((v) => ({
        ...v.labels,
        value: v.value,
        metricName: (v as { metricName?: string }).metricName,
      }));
    return { ...m, scrape };
  };
  const genAi = {
    model: 'gpt4',
    gen_ai_operation_name: 'chat',
    gen_ai_provider_name: 'azure.ai.openai',
    gen_ai_request_model: 'gpt-4o',
  };

  test('when a model answers, then its duration and its input and output tokens are GenAI histograms labelled with provider and model id', async () => {
    const m = setup();
    m.models.call('gpt4', { status: 'ok', text: 'x', latencyMs: 1500, usage: { inputTokens: 100, outputTokens: 20 } });
    const duration = await m.scrape('gen_ai_client_operation_duration_seconds');
    expect(duration).toContainEqual({
      ...genAi,
      metricName: 'gen_ai_client_operation_duration_seconds_sum',
      value: 1.5,
    });
    expect(duration).toContainEqual({
      ...genAi,
      le: 2.56,
      metricName: 'gen_ai_client_operation_duration_seconds_bucket',
      value: 1,
    });
    const tokens = await m.scrape('gen_ai_client_token_usage');
    expect(tokens).toContainEqual({
      ...genAi,
      gen_ai_token_type: 'input',
      metricName: 'gen_ai_client_token_usage_sum',
      value: 100,
    });
    expect(tokens).toContainEqual({
      ...genAi,
      gen_ai_token_type: 'output',
      metricName: 'gen_ai_client_token_usage_sum',
      value: 20,
    });
  });

  test('when a call fails, then error_type is its code; when it is refused unsent, then only the refusal is counted', async () => {
    const m = setup();
    m.models.call('gpt4', { status: 'timeout', code: 'timeout', latencyMs: 15_000 });
    m.models.call('llama4', { status: 'skipped', code: 'overloaded', latencyMs: 0 });
    const counts = (await m.scrape('gen_ai_client_operation_duration_seconds')).filter((v) =>
      v.metricName?.endsWith('_count'),
    );
    expect(counts).toEqual([
      { ...genAi, error_type: 'timeout', metricName: 'gen_ai_client_operation_duration_seconds_count', value: 1 },
    ]);
    expect(await m.scrape('model_calls_refused_total')).toEqual([
      { model: 'llama4', code: 'overloaded', value: 1, metricName: undefined },
    ]);
  });

  test('when the provider is unknown, then it says so and the request model is the catalogue name', async () => {
    const m = setup();
    m.models.call('llama4', { status: 'error', code: 'upstream_error', latencyMs: 10 });
    expect((await m.scrape('gen_ai_client_operation_duration_seconds'))[0]).toMatchObject({
      gen_ai_provider_name: 'unknown',
      gen_ai_request_model: 'llama4',
      model: 'llama4',
    });
  });

  test('when breakers change and context steps are observed, then state and lookup durations by store and outcome are kept', async () => {
    const m = setup();
    m.models.breaker('gpt4', 'open');
    expect(await m.scrape('model_breaker_state')).toEqual([{ model: 'gpt4', value: 2, metricName: undefined }]);
    m.context('cache', 'miss', 0.002);
    m.context('store', 'hit', 0.03);
    const counts = (await m.scrape('context_lookup_duration_seconds')).filter((v) => v.metricName?.endsWith('_count'));
    expect(counts.map(({ store, outcome, value }) => `${store} ${outcome} ${value}`)).toEqual([
      'cache miss 1',
      'store hit 1',
    ]);
  });
});
