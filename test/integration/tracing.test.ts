/**
 * One request, one trace: gateway → its sidecar → ai-core's sidecar → ai-core →
 * context reads → each model call, exported over OTLP by the services and the
 * sidecars to an in-test receiver (no Jaeger needed).
 */
import {
  DEV_KEYS,
  OtlpReceiver,
  serviceApps,
  SPAN_KIND,
  spanTree,
  useStack,
  type ReceivedSpan,
} from '@context-qa/testkit';

const LLAMA = 'us.meta.llama4-maverick-17b-instruct-v1:0';
const GPT = 'gpt-4';
const PROMPT = 'What does the quarterly report say about churn?';
const CONTEXT = 'Churn fell to 2.1 percent in the third quarter.';

describe('tracing: one trace per request, end to end', () => {
  let otlp: OtlpReceiver;

  const stack = useStack(async () => {
    otlp = await OtlpReceiver.start();
    // Export within 100 ms instead of the SDKs' 5 s batch delay (the Node SDK and daprd's Go SDK both read it).
    return { apps: serviceApps(), tracing: { otlpEndpoint: otlp.endpoint, env: { OTEL_BSP_SCHEDULE_DELAY: '100' } } };
  });
  beforeAll(() => stack.seedContextStore({ 'reports/q3': CONTEXT }));
  afterAll(() => otlp?.stop()); // after the stack's own afterAll (hooks run in the order declared)

  const ask = (requestId: string, strategy = 'both') =>
    fetch(`${stack.appUrl('gateway-service')}/v1/prompt`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${DEV_KEYS.ask}`,
        'content-type': 'application/json',
        'x-request-id': requestId,
      },
      body: JSON.stringify({ prompt: PROMPT, contextKey: 'reports/q3', strategy }),
    });

  /** The trace whose gateway server span carries this request id, once `complete` holds for it. */
  async function traceOf(requestId: string, complete: (spans: ReceivedSpan[]) => boolean): Promise<ReceivedSpan[]> {
    const root = () =>
      otlp.spans.find(
        (s) =>
          s.service === 'gateway-service' &&
          s.kind === SPAN_KIND.server &&
          s.attributes['context_qa.request_id'] === requestId,
      );
    await otlp.waitFor(() => {
      const r = root();
      return r !== undefined && complete(otlp.trace(r.traceId));
    });
    return otlp.trace(root()!.traceId);
  }

  const ancestors = (spans: ReceivedSpan[], span: ReceivedSpan): ReceivedSpan[] => {
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const chain: ReceivedSpan[] = [];
    for (let p = span.parentSpanId && byId.get(span.parentSpanId); p; p = p.parentSpanId && byId.get(p.parentSpanId))
      chain.push(p);
    return chain;
  };
  const modelSpans = (spans: ReceivedSpan[]) => spans.filter((s) => s.attributes['gen_ai.operation.name'] === 'chat');

  test('when a prompt is answered, then one trace holds every hop, the context reads and both model calls', async () => {
    const res = await ask('trace-happy-1');
    expect(res.status).toBe(200);
    const spans = await traceOf(
      'trace-happy-1',
      (t) =>
        modelSpans(t).length === 2 &&
        t.some((s) => s.scope !== '' && s.service === 'ai-core-service' && s.kind === SPAN_KIND.server),
    );
    console.log(`span tree of one /v1/prompt request:\n${spanTree(spans)}`);

    // One root: the gateway's server span; every other span hangs under it.
    const roots = spans.filter((s) => !s.parentSpanId || !spans.some((p) => p.spanId === s.parentSpanId));
    expect(roots.map((r) => [r.service, r.kind])).toEqual([['gateway-service', SPAN_KIND.server]]);

    // ai-core's server span descends from the gateway through both sidecars' spans.
    const aiCore = spans.find(
      (s) =>
        s.service === 'ai-core-service' &&
        s.kind === SPAN_KIND.server &&
        s.attributes['context_qa.request_id'] === 'trace-happy-1',
    )!;
    expect(aiCore).toBeDefined();
    const daprHops = ancestors(spans, aiCore).filter(
      (s) => s.scope.startsWith('dapr') || s.name.startsWith('CallLocal'),
    );
    expect(daprHops.length).toBeGreaterThanOrEqual(2);

    // Context: the cache read (and the store read after the miss) are children of ai-core's work.
    const stateReads = spans.filter(
      (s) =>
        s.service === 'ai-core-service' &&
        s.kind === SPAN_KIND.client &&
        String(s.attributes['url.full'] ?? '').includes('/v1.0/state/'),
    );
    expect(stateReads.length).toBeGreaterThanOrEqual(2);
    for (const read of stateReads) expect(ancestors(spans, read)).toContain(aiCore);

    // Each model call: a GenAI span under ai-core with the semantic-convention attributes and the SDK's HTTP call beneath it.
    const models = modelSpans(spans);
    expect(models.map((m) => m.attributes['gen_ai.request.model']).sort()).toEqual([GPT, LLAMA].sort());
    for (const m of models) {
      expect(ancestors(spans, m)).toContain(aiCore);
      expect(m.kind).toBe(SPAN_KIND.client);
      expect(m.attributes).toMatchObject({
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': expect.stringMatching(/^(aws\.bedrock|azure\.ai\.openai)$/) as unknown,
        'gen_ai.response.model': expect.any(String) as unknown,
        'gen_ai.usage.input_tokens': expect.any(Number) as unknown,
        'gen_ai.usage.output_tokens': expect.any(Number) as unknown,
        'gen_ai.response.finish_reasons': ['stop'],
      });
      expect(spans.some((s) => s.parentSpanId === m.spanId && s.kind === SPAN_KIND.client)).toBe(true);
    }

    // Route facts sit on the server span, next to the request id.
    const root = roots[0]!;
    expect(root.attributes).toMatchObject({
      'context_qa.request_id': 'trace-happy-1',
      'context_qa.key_id': 'dev-ask',
      'context_qa.answered_by': expect.any(String) as unknown,
    });

    // Never user text: neither the prompt nor the context appears in any name, attribute, event or status.
    const everything = JSON.stringify(spans.map((s) => [s.name, s.attributes, s.events, s.statusMessage]));
    expect(everything).not.toContain('churn');
    expect(everything).not.toContain('2.1 percent');
  });

  test('when the sketch route carries the prompt in its query, then no span holds it', async () => {
    const marker = 'zebra-marker-7f3a';
    const res = await fetch(`${stack.appUrl('gateway-service')}/prompt?prompt=${marker}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${DEV_KEYS.ask}`, 'x-request-id': 'trace-query-1' },
    });
    expect(res.status).toBe(200);
    const spans = await traceOf('trace-query-1', (t) => modelSpans(t).length === 2);
    const root = spans.find(
      (s) => s.attributes['context_qa.request_id'] === 'trace-query-1' && s.service === 'gateway-service',
    )!;
    expect(String(root.attributes['url.query'])).toContain('REDACTED');
    expect(JSON.stringify(spans.map((s) => [s.name, s.attributes, s.events, s.statusMessage]))).not.toContain(marker);
  });

  test('when context is read and a question is asked without a key, then no span of ours holds the context key or the question hash', async () => {
    const read = await fetch(`${stack.appUrl('gateway-service')}/v1/context/reports%2Fq3`, {
      headers: { authorization: `Bearer ${DEV_KEYS.admin}`, 'x-request-id': 'trace-keys-1' },
    });
    expect(read.status).toBe(200);
    // Ours: the services' spans (their instrumentations' and our own tracer's), not daprd's.
    const ofOurs = (s: ReceivedSpan) => s.scope.startsWith('@opentelemetry/') || s.scope.startsWith('context-qa');
    const aiCoreServed = (t: ReceivedSpan[]) =>
      t.some((s) => ofOurs(s) && s.service === 'ai-core-service' && s.kind === SPAN_KIND.server);
    const readSpans = await traceOf('trace-keys-1', aiCoreServed);
    // Without a contextKey the key is sha256:<hex of the normalised question>, read from the cache and the store by URL.
    const asked = await fetch(`${stack.appUrl('gateway-service')}/v1/prompt`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${DEV_KEYS.ask}`,
        'content-type': 'application/json',
        'x-request-id': 'trace-keys-2',
      },
      body: JSON.stringify({ prompt: 'Which key was it?', strategy: 'primary' }),
    });
    expect(asked.status).toBe(200);
    const askSpans = await traceOf('trace-keys-2', (t) => modelSpans(t).length === 1 && aiCoreServed(t));

    const ours = [...readSpans, ...askSpans].filter(ofOurs);
    const text = JSON.stringify(ours.map((s) => [s.name, s.attributes, s.events, s.statusMessage]));
    for (const key of ['reports/q3', 'reports%2Fq3', 'reports%2fq3', 'sha256']) expect(text).not.toContain(key);
    expect(text).not.toMatch(/[0-9a-f]{64}/); // a question hash, however encoded
    // What they show instead: the route pattern.
    const stateUrls = ours.map((s) => String(s.attributes['url.full'] ?? '')).filter((u) => u.includes('/v1.0/state/'));
    expect(stateUrls.length).toBeGreaterThan(0);
    for (const url of stateUrls) expect(url).toMatch(/\/v1\.0\/state\/[^/]+(\/\{key\})?(\?|$)/);
    const gatewayRead = readSpans.find(
      (s) => ofOurs(s) && s.service === 'gateway-service' && s.kind === SPAN_KIND.server,
    )!;
    expect(gatewayRead.attributes['url.path']).toBe('/v1/context/{key}');

    // The sidecars' own spans of these calls are Dapr's to shape: report what they still carry.
    const sidecarText = JSON.stringify(
      [...readSpans, ...askSpans].filter((s) => !ofOurs(s)).map((s) => [s.name, s.attributes]),
    );
    console.log(`sidecar spans holding a context key: ${/reports(%2F|\/)q3|sha256/i.test(sidecarText) ? 'yes' : 'no'}`);
  });

  test('when a public caller sends its own sampled traceparent, then the gateway starts a trace of its own', async () => {
    const callerTrace = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
    const res = await fetch(`${stack.appUrl('gateway-service')}/v1/prompt`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${DEV_KEYS.ask}`,
        'content-type': 'application/json',
        'x-request-id': 'trace-edge-1',
        traceparent: `00-${callerTrace}-bbbbbbbbbbbbbbbb-01`,
      },
      body: JSON.stringify({ prompt: 'edge', strategy: 'primary' }),
    });
    expect(res.status).toBe(200);
    const spans = await traceOf('trace-edge-1', (t) => modelSpans(t).length === 1);
    expect(spans[0]!.traceId).not.toBe(callerTrace);
    expect(otlp.spans.filter((s) => s.traceId === callerTrace)).toEqual([]);
  });

  test('when the preferred model fails, then its span carries the error and the request span the fallback', async () => {
    await stack.simulator.setFault(GPT, { failRate: 1, error: 'throttling' }); // gpt4 is preferred
    try {
      const res = await ask('trace-fallback-1', 'primary');
      expect(res.status).toBe(200);
      const spans = await traceOf(
        'trace-fallback-1',
        (t) => modelSpans(t).length === 2 && t.some((s) => s.events.some((e) => e.name === 'context_qa.fallback')),
      );
      const failed = modelSpans(spans).find((m) => m.attributes['gen_ai.request.model'] === GPT)!;
      expect(failed.attributes['error.type']).toBe('rate_limited');
      expect(failed.status).toBe(2);
      const fallback = spans.flatMap((s) => s.events).find((e) => e.name === 'context_qa.fallback')!;
      expect(fallback.attributes).toMatchObject({
        'context_qa.answered_by': 'llama4',
        'context_qa.failed_models': ['gpt4:rate_limited'],
      });
    } finally {
      await stack.simulator.heal();
    }
  });

  test('when the receiver decoded every export, then none was malformed', () => {
    expect(otlp.failures).toBe(0);
  });
});
