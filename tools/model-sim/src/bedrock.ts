/**
 * Bedrock Runtime for Meta Llama 4: Converse, ConverseStream, InvokeModel and
 * InvokeModelWithResponseStream, with Bedrock's error shapes and event-stream framing.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import { answer, chunks } from './answer';
import type { Counters } from './counters';
import { ERROR_KINDS, type ErrorSpec, type FaultRegistry } from './faults';
import { BodyError, readJson, sendJson } from './http-util';
import { modelCall, paced, type CallContext } from './model-call';

const BASE_MODELS = ['meta.llama4-maverick-17b-instruct-v1:0', 'meta.llama4-scout-17b-instruct-v1:0'];
const PROFILE_PREFIXES = ['us.', 'eu.', 'apac.'];
/** Base ids that real Bedrock serves on demand only through an inference profile. */
const PROFILE_ONLY = new Set(['meta.llama4-maverick-17b-instruct-v1:0']);

export const KNOWN_MODELS = [...BASE_MODELS, ...PROFILE_PREFIXES.flatMap((p) => BASE_MODELS.map((m) => p + m))];

export const BEDROCK_ROUTE = /^\/model\/([^/]+)\/(converse|converse-stream|invoke|invoke-with-response-stream)$/;

const codec = new EventStreamCodec(toUtf8, fromUtf8);

function sendBedrockError(res: ServerResponse, spec: ErrorSpec, message: string = spec.message): void {
  sendJson(res, spec.status, { message }, { 'x-amzn-errortype': spec.bedrock });
}

function frame(headers: Record<string, string>, body: unknown): Uint8Array {
  return codec.encode({
    headers: Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, { type: 'string' as const, value: v }])),
    body: fromUtf8(JSON.stringify(body)),
  });
}

const event = (type: string, body: unknown) =>
  frame({ ':message-type': 'event', ':event-type': type, ':content-type': 'application/json' }, body);

/** Stream exceptions use lower-camel member names, e.g. modelStreamErrorException. */
const streamException = (name: string, message: string) =>
  frame({ ':message-type': 'exception', ':exception-type': name, ':content-type': 'application/json' }, { message });

/** "1 validation error detected: Value … at 'field' failed to satisfy constraint: …", as Bedrock words it. */
const invalid = (field: string, constraint: string) =>
  `1 validation error detected: Value at '${field}' failed to satisfy constraint: ${constraint}`;

interface ConverseInput {
  text: string;
  /** The last user message: what the answer quotes as the question. */
  user: string;
  maxTokens?: number;
}

function parseConverse(body: unknown): ConverseInput | string {
  if (typeof body !== 'object' || body === null) return invalid('messages', 'Member must not be null');
  const b = body as { messages?: unknown; system?: unknown; inferenceConfig?: Record<string, unknown> };
  if (!Array.isArray(b.messages) || b.messages.length === 0)
    return invalid('messages', 'Member must not be null or empty');
  const messages = b.messages as ({ role?: unknown; content?: unknown } | null)[];
  const texts: string[] = [];
  let user = '';
  for (const [i, m] of messages.entries()) {
    if (m?.role !== 'user' && m?.role !== 'assistant')
      return invalid(`messages.${i + 1}.member.role`, 'Member must satisfy enum value set: [user, assistant]');
    if (!Array.isArray(m.content) || m.content.length === 0)
      return invalid(`messages.${i + 1}.member.content`, 'Member must not be null or empty');
    const text = (m.content as ({ text?: unknown } | null)[])
      .map((c) => (typeof c?.text === 'string' ? c.text : ''))
      .join('\n');
    texts.push(text);
    if (m.role === 'user') user = text;
  }
  if (messages[0]!.role !== 'user')
    return 'A conversation must start with a user message. Try again with a conversation that starts with a user message.';
  const system = Array.isArray(b.system)
    ? (b.system as ({ text?: string } | null)[]).map((s) => s?.text ?? '').join('\n')
    : '';
  const cfg = b.inferenceConfig ?? {};
  const maxTokens = cfg['maxTokens'];
  if (maxTokens !== undefined && !(typeof maxTokens === 'number' && Number.isInteger(maxTokens) && maxTokens >= 1)) {
    return invalid('inferenceConfig.maxTokens', 'Member must have value greater than or equal to 1');
  }
  for (const k of ['temperature', 'topP']) {
    const v = cfg[k];
    if (v !== undefined && !(typeof v === 'number' && v >= 0 && v <= 1)) {
      return invalid(`inferenceConfig.${k}`, 'Member must have value less than or equal to 1');
    }
  }
  const stops = cfg['stopSequences'];
  if (stops !== undefined && !(Array.isArray(stops) && stops.length <= 2500))
    return invalid('inferenceConfig.stopSequences', 'Member must have length less than or equal to 2500');
  return { text: [system, ...texts].join('\n'), user, maxTokens };
}

function parseInvoke(body: unknown): ConverseInput | string {
  const b = (body ?? {}) as Record<string, unknown>;
  if (typeof b['prompt'] !== 'string' || b['prompt'] === '')
    return 'Malformed input request: #: required key [prompt] not found, please reformat your input and try again.';
  const maxGenLen = b['max_gen_len'];
  if (
    maxGenLen !== undefined &&
    !(typeof maxGenLen === 'number' && Number.isInteger(maxGenLen) && maxGenLen >= 1 && maxGenLen <= 2048)
  ) {
    return 'Malformed input request: #/max_gen_len: must be an integer from 1 to 2048, please reformat your input and try again.';
  }
  for (const k of ['temperature', 'top_p']) {
    const v = b[k];
    if (v !== undefined && !(typeof v === 'number' && v >= 0 && v <= 1)) {
      return `Malformed input request: #/${k}: ${JSON.stringify(v)} is not less or equal to 1, please reformat your input and try again.`;
    }
  }
  return { text: b['prompt'], user: b['prompt'], maxTokens: maxGenLen };
}

export async function handleBedrock(
  deps: { faults: FaultRegistry; counters: Counters },
  req: IncomingMessage,
  res: ServerResponse,
  rawModelId: string,
  op: string,
): Promise<void> {
  const modelId = decodeURIComponent(rawModelId);
  const auth = req.headers['authorization'] ?? '';
  // Signature not verified: the shape proves the SDK signed (SigV4) or used a Bedrock API key.
  if (!/^AWS4-HMAC-SHA256 Credential=\S+/.test(auth) && !/^Bearer \S+/.test(auth)) {
    return sendBedrockError(
      res,
      ERROR_KINDS['access-denied'],
      'Missing or malformed Authorization header (expected AWS SigV4).',
    );
  }
  if (!KNOWN_MODELS.includes(modelId)) {
    return sendBedrockError(
      res,
      ERROR_KINDS['not-found'],
      `Could not resolve the foundation model from the provided model identifier: ${modelId}`,
    );
  }
  if (PROFILE_ONLY.has(modelId)) {
    return sendBedrockError(
      res,
      ERROR_KINDS.validation,
      `Invocation of model ID ${modelId} with on-demand throughput isn’t supported. Retry your request with the ID or ARN of an inference profile that contains this model.`,
    );
  }
  let body: unknown;
  try {
    body = await readJson(req);
  } catch (err) {
    return sendBedrockError(res, ERROR_KINDS.validation, (err as BodyError).message);
  }
  const native = op.startsWith('invoke');
  const input = native ? parseInvoke(body) : parseConverse(body);
  if (typeof input === 'string') return sendBedrockError(res, ERROR_KINDS.validation, input);

  const started = Date.now();
  await modelCall(
    deps,
    res,
    op,
    modelId,
    input.text,
    (spec) => sendBedrockError(res, spec),
    async (ctx) => {
      const a = answer(modelId, input.text, input.maxTokens, input.user);
      if (op === 'converse') return sendJson(res, 200, converseBody(a, Date.now() - started));
      if (op === 'invoke') return sendJson(res, 200, invokeBody(a));
      await stream(ctx, res, a, op === 'converse-stream', started);
    },
  );
}

type A = ReturnType<typeof answer>;

const converseBody = (a: A, latencyMs: number) => ({
  output: { message: { role: 'assistant', content: [{ text: a.text }] } },
  stopReason: a.truncated ? 'max_tokens' : 'end_turn',
  usage: { inputTokens: a.inputTokens, outputTokens: a.outputTokens, totalTokens: a.inputTokens + a.outputTokens },
  metrics: { latencyMs },
});

const invokeBody = (a: A) => ({
  generation: a.text,
  prompt_token_count: a.inputTokens,
  generation_token_count: a.outputTokens,
  stop_reason: a.truncated ? 'length' : 'stop',
});

async function stream(ctx: CallContext, res: ServerResponse, a: A, converse: boolean, started: number): Promise<void> {
  res.writeHead(200, {
    'content-type': 'application/vnd.amazon.eventstream',
    'x-amzn-bedrock-content-type': 'application/json',
  });
  const nativeChunk = (body: unknown) =>
    event('chunk', { bytes: Buffer.from(JSON.stringify(body)).toString('base64') });
  if (converse) res.write(event('messageStart', { role: 'assistant' }));
  const parts = chunks(a.text);
  const ok = await paced(
    ctx,
    res,
    parts,
    (text) =>
      res.write(
        converse
          ? event('contentBlockDelta', { contentBlockIndex: 0, delta: { text } })
          : nativeChunk({
              generation: text,
              prompt_token_count: null,
              generation_token_count: null,
              stop_reason: null,
            }),
      ),
    () => res.end(streamException('modelStreamErrorException', 'The model stream failed part-way (simulated).')),
  );
  if (!ok) return;
  const stopReason = a.truncated ? 'max_tokens' : 'end_turn';
  if (converse) {
    res.write(event('contentBlockStop', { contentBlockIndex: 0 }));
    res.write(event('messageStop', { stopReason }));
    res.end(
      event('metadata', {
        usage: {
          inputTokens: a.inputTokens,
          outputTokens: a.outputTokens,
          totalTokens: a.inputTokens + a.outputTokens,
        },
        metrics: { latencyMs: Date.now() - started },
      }),
    );
  } else {
    res.end(
      nativeChunk({
        generation: '',
        prompt_token_count: a.inputTokens,
        generation_token_count: a.outputTokens,
        stop_reason: a.truncated ? 'length' : 'stop',
        'amazon-bedrock-invocationMetrics': {
          inputTokenCount: a.inputTokens,
          outputTokenCount: a.outputTokens,
          invocationLatency: Date.now() - started,
        },
      }),
    );
  }
}
