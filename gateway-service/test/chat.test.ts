/** The OpenAI-compatible routes' surface with a fake ai-core: validation and errors in OpenAI's shape. */
import request from 'supertest';
import { sha256Hex } from '@context-qa/common/crypto';
import { Readiness } from '@context-qa/common/http';
import { openAiError, type OpenAiError, UNSUPPORTED_CHAT_FIELDS } from '@context-qa/common/openai';
import { createLogger } from '@context-qa/common/telemetry';
import type { AiCore, Forwarded } from '../src/domain/ports';
import { createApp } from '../src/app';
import { limitDeps } from './fakes';

const KEY = 'cqa_chat_test_key';

function setup(reply: Forwarded = { status: 200, body: { object: 'chat.completion' } }) {
  const sent: unknown[] = [];
  const aiCore: AiCore = {
    send: async () => reply,
    open: async (_m, _p, body) => (sent.push(body), reply),
  };
  const app = createApp({
    logger: createLogger('test', 'silent'),
    aiCore,
    apiKeys: () => [{ id: 'k', scope: 'ask', sha256: sha256Hex(KEY) }],
    readiness: new Readiness({}),
    bodyLimit: '2kb',
    requestTimeoutMs: 5000,
    limits: limitDeps().deps,
  });
  return { app, sent };
}

const ok = { model: 'auto', messages: [{ role: 'user', content: 'hi' }] };
const post = (app: ReturnType<typeof setup>['app'], body: unknown, key: string | null = KEY) => {
  const r = request(app).post('/v1/chat/completions');
  if (key) r.set('authorization', `Bearer ${key}`);
  return typeof body === 'string' ? r.set('content-type', 'application/json').send(body) : r.send(body as object);
};

/** The error shape OpenAI SDKs parse, with the request id header still set. */
const expectOpenAiError = (res: request.Response, status: number, code?: string, param?: string) => {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toMatch(/application\/json/);
  const body = res.body as OpenAiError;
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(body.error).toMatchObject<Record<string, unknown>>({
    message: expect.any(String),
    type: expect.any(String),
    code: code ?? expect.any(String),
    ...(param ? { param } : {}),
  });
  expect(res.headers['x-request-id']).toBeTruthy();
};

describe('POST /v1/chat/completions: bad input gets an OpenAI-shaped 4xx and never reaches ai-core', () => {
  test.each([
    ['tools', { ...ok, tools: [{ type: 'function', function: { name: 'f' } }] }, 'tools'],
    ['n > 1', { ...ok, n: 2 }, 'n'],
    [
      'an image part',
      { ...ok, messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://x/y.png' } }] }] },
      'messages.0.content',
    ],
    ['audio output', { ...ok, modalities: ['audio'] }, 'modalities'],
    ['a tool message', { ...ok, messages: [{ role: 'tool', content: 'x', tool_call_id: 'a' }] }, 'messages.0.role'],
    ['a system-only conversation', { ...ok, messages: [{ role: 'system', content: 'x' }] }, 'messages'],
    ['empty messages', { ...ok, messages: [] }, 'messages'],
    ['huge max_tokens', { ...ok, max_tokens: 1_000_000 }, 'max_tokens'],
    ['a wrong type', { ...ok, temperature: 'hot' }, 'temperature'],
    ['a missing model', { messages: ok.messages }, 'model'],
    ['an unknown field', { ...ok, colour: 'red' }, null],
  ])('when the request has %s, then 400 invalid_request naming it', async (_what, body, param) => {
    const { app, sent } = setup();
    const res = await post(app, body);
    expectOpenAiError(res, 400, 'invalid_request');
    const { error } = res.body as OpenAiError;
    if (param) expect(error.param).toBe(param);
    expect(error.type).toBe('invalid_request_error');
    expect(sent).toEqual([]);
  });

  test.each([...UNSUPPORTED_CHAT_FIELDS])(
    'when the request sets %s, then 400 says it is not supported',
    async (field) => {
      const { app, sent } = setup();
      const res = await post(app, { ...ok, [field]: 1 });
      expectOpenAiError(res, 400, 'invalid_request', field);
      expect((res.body as OpenAiError).error.message).toContain('not supported');
      expect(sent).toEqual([]);
    },
  );

  test.each([
    ['a whitespace-only question', { ...ok, messages: [{ role: 'user', content: '   ' }] }, 'messages'],
    ['stream_options without stream', { ...ok, stream_options: { include_usage: true } }, 'stream_options'],
    ['a context key with ||', { ...ok, context_key: 'a||b' }, 'context_key'],
  ])('when the request has %s, then 400', async (_what, body, param) => {
    expectOpenAiError(await post(setup().app, body), 400, 'invalid_request', param);
  });

  test('when a client sends null for optional numbers (as some do), then it is accepted', async () => {
    const { app, sent } = setup();
    const body = { ...ok, max_tokens: null, temperature: null, top_p: null, n: null, stream: null };
    expect((await post(app, body)).status).toBe(200);
    expect(sent).toHaveLength(1);
  });

  test('when the x-context-key header is not a valid key, then 400 naming it', async () => {
    const res = await request(setup().app)
      .post('/v1/chat/completions')
      .set('authorization', `Bearer ${KEY}`)
      .set('x-context-key', 'a||b')
      .send(ok);
    expectOpenAiError(res, 400, 'invalid_request', 'x-context-key');
  });

  test('when the body is not JSON, too large, or of another type, then OpenAI-shaped 400 / 413 / 415', async () => {
    const { app } = setup();
    expectOpenAiError(await post(app, '{"model":'), 400);
    expectOpenAiError(await post(app, { ...ok, messages: [{ role: 'user', content: 'x'.repeat(5000) }] }), 413);
    expectOpenAiError(
      await request(app)
        .post('/v1/chat/completions')
        .set('authorization', `Bearer ${KEY}`)
        .set('content-type', 'text/plain')
        .send('hi'),
      415,
    );
  });

  test('when the key is missing or wrong, then 401 authentication_error (what the SDK raises as AuthenticationError)', async () => {
    const { app } = setup();
    const res = await post(app, ok, null);
    expectOpenAiError(res, 401);
    expect((res.body as OpenAiError).error.type).toBe('authentication_error');
    expectOpenAiError(await post(app, ok, 'nope'), 401);
  });

  test('when ai-core refuses an unknown model, then its 404 reaches the caller as it is', async () => {
    const { app } = setup({
      status: 404,
      body: openAiError(404, 'the model "x" does not exist', 'model_not_found', 'model'),
    });
    expectOpenAiError(await post(app, { ...ok, model: 'x' }), 404, 'model_not_found', 'model');
  });

  test('when the request is valid, then ai-core gets the parsed request', async () => {
    const { app, sent } = setup();
    const res = await post(app, { ...ok, max_tokens: 5, stream_options: null });
    expect(res.status).toBe(200);
    expect(sent).toEqual([{ ...ok, max_tokens: 5, stream_options: null }]);
  });
});
