/**
 * The OpenAPI documents: committed and current, valid OpenAPI 3.1 (the
 * official OAS 3.1 JSON schema, oas-3.1-schema.json: not on npm, copied from
 * https://spec.openapis.org/oas/3.1/schema/2022-10-07, Apache-2.0), internally
 * consistent; and the response validator the integration tests rely on
 * (test/support) catches what it should.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { gatewayUrls } from '@context-qa/testkit/gateway-urls';
import { OPENAPI_FILES, openApiDocument, serialise } from '@context-qa/common/openapi';
import { takeViolations } from '../support/gateway-responses';
import { ajvSchema, responseValidator, type ObservedResponse, type OpenApiDoc } from '../support/openapi-validator';

const root = path.join(__dirname, '../..');
const documents = Object.entries(OPENAPI_FILES).map(([file, build]) => ({
  file,
  doc: build() as unknown as OpenApiDoc & Record<string, unknown>,
}));

describe.each(documents)('$file', ({ file, doc }) => {
  test('is committed as generated (else run `make openapi`)', () => {
    const committed = readFileSync(path.join(root, file), 'utf8');
    if (committed !== serialise(doc)) throw new Error(`${file} is stale: run \`make openapi\` and commit it`);
  });

  test('is valid against the official OpenAPI 3.1 schema', () => {
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    addFormats(ajv);
    ajv.addFormat('media-range', true);
    // Ajv resolves `$dynamicRef: "#meta"` in the wrong scope; with no dialect of our own it means the schema's `schema` def.
    const oas = readFileSync(path.join(__dirname, 'oas-3.1-schema.json'), 'utf8').replaceAll(
      '"$dynamicRef": "#meta"',
      '"$ref": "#/$defs/schema"',
    );
    const validate = ajv.compile(JSON.parse(oas) as object);
    expect(validate(doc) ? [] : validate.errors).toEqual([]);
  });

  test('every $ref resolves, every schema compiles (JSON Schema 2020-12, strict), every operation has an operationId and responses', () => {
    const refs = JSON.stringify(doc).match(/"\$ref":"[^"]+"/g) ?? [];
    for (const ref of new Set(refs.map((r) => r.slice(8, -1)))) {
      const target = ref
        .slice(2)
        .split('/')
        .reduce<unknown>(
          (node, key) => (node as Record<string, unknown> | undefined)?.[key.replace(/~1/g, '/').replace(/~0/g, '~')],
          doc,
        );
      expect([ref, target !== undefined]).toEqual([ref, true]);
    }
    const ajv = new Ajv2020({ strict: true });
    addFormats(ajv);
    ajv.addSchema({ $defs: ajvSchema(doc.components?.schemas ?? {}) }, 'components.json');
    for (const name of Object.keys(doc.components?.schemas ?? {}))
      ajv.compile({ $ref: `components.json#/$defs/${name}` });
    type Operation = {
      operationId?: string;
      parameters?: { schema: object }[];
      responses: Record<string, { content?: Record<string, { schema: object }> }>;
    };
    const operations = Object.values(doc.paths as Record<string, Record<string, Operation>>).flatMap((item) =>
      Object.values(item),
    );
    for (const op of operations) {
      for (const res of Object.values(op.responses))
        for (const media of Object.values(res.content ?? {})) ajv.compile(ajvSchema(media.schema) as object);
      for (const p of op.parameters ?? []) ajv.compile(p.schema);
      expect(Object.keys(op.responses).length).toBeGreaterThan(0);
    }
    const ids = operations.map((op) => op.operationId);
    expect(ids.every((id) => typeof id === 'string')).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('the response validator', () => {
  const check = responseValidator(documents.map((d) => d.doc));
  const headers = (type: string, extra: Record<string, string> = {}) =>
    new Headers({ 'content-type': type, 'x-request-id': 'r1', ...extra });
  const res = (
    method: string,
    url: string,
    status: number,
    type: string,
    body: unknown,
    extra?: Record<string, string>,
  ): ObservedResponse => ({
    method,
    url: `http://127.0.0.1:1${url}`,
    status,
    headers: headers(type, extra),
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const outcome = { status: 'ok', text: 'hi', latencyMs: 3, usage: { inputTokens: 1, outputTokens: 2 } };
  const answer = {
    requestId: 'r1',
    answer: 'hi',
    answeredBy: 'gpt4',
    strategy: 'both',
    degraded: false,
    context: { source: 'none', key: 'k' },
    models: { gpt4: outcome },
    cache: 'miss',
  };
  const problem = {
    type: 'https://context-qa.dev/problems/unauthorized',
    title: 'Unauthorized',
    status: 401,
    code: 'unauthorized',
    detail: 'no key',
    requestId: 'r1',
  };
  const chunk = {
    id: 'c',
    object: 'chat.completion.chunk',
    created: 1,
    model: 'gpt4',
    choices: [{ index: 0, delta: { content: 'hi' }, finish_reason: null, logprobs: null }],
  };
  const sse = (...events: unknown[]) =>
    events.map((e) => `data: ${typeof e === 'string' ? e : JSON.stringify(e)}\n\n`).join('');

  test('when a response is as documented, then there is no violation', () => {
    expect(check(res('POST', '/v1/prompt', 200, 'application/json; charset=utf-8', answer))).toEqual([]);
    expect(check(res('POST', '/v1/prompt', 401, 'application/problem+json; charset=utf-8', problem))).toEqual([]);
    expect(
      check(
        res('POST', '/v1/chat/completions', 200, 'text/event-stream', `${sse(chunk)}: usage {}\n\n${sse('[DONE]')}`),
      ),
    ).toEqual([]);
    expect(
      check(res('GET', '/nowhere', 404, 'application/problem+json', { ...problem, status: 404, code: 'not_found' })),
    ).toEqual([]);
    expect(
      check(
        res(
          'GET',
          '/v1/prompt',
          405,
          'application/problem+json',
          { ...problem, status: 405, allow: ['POST'] },
          { allow: 'POST' },
        ),
      ),
    ).toEqual([]);
    expect(
      check(res('PUT', '/v1/context/a%2Fb', 200, 'application/json', { key: 'a/b', stored: true, cache: 'refreshed' })),
    ).toEqual([]);
  });

  test.each<[string, ObservedResponse, RegExp]>([
    [
      'a field is missing',
      res('POST', '/v1/prompt', 200, 'application/json', { ...answer, answer: undefined }),
      /must have required property 'answer'/,
    ],
    [
      'a field is not documented',
      res('POST', '/v1/prompt', 200, 'application/json', { ...answer, secret: 1 }),
      /must NOT have additional properties "secret"/,
    ],
    [
      'a value deep inside is wrong',
      res('POST', '/v1/prompt', 200, 'application/json', {
        ...answer,
        models: { gpt4: { ...outcome, status: 'fine' } },
      }),
      /\/models\/gpt4\/status must be equal to one of the allowed values/,
    ],
    [
      'the status is not documented',
      res('POST', '/v1/prompt', 418, 'application/problem+json', problem),
      /status not documented/,
    ],
    [
      'the content type is not documented',
      res('POST', '/v1/prompt', 401, 'text/html', '<h1>no</h1>'),
      /content type "text\/html" not documented/,
    ],
    [
      'the OpenAI route answers problem+json',
      res('POST', '/v1/chat/completions', 401, 'application/problem+json', problem),
      /content type "application\/problem\+json" not documented/,
    ],
    [
      'x-request-id is missing',
      {
        ...res('POST', '/v1/prompt', 401, 'application/problem+json', problem),
        headers: new Headers({ 'content-type': 'application/problem+json' }),
      },
      /required header x-request-id missing/,
    ],
    [
      'a stream event is wrong',
      res('POST', '/v1/chat/completions', 200, 'text/event-stream', sse({ ...chunk, object: 'chunk' }, '[DONE]')),
      /event 0 does not match/,
    ],
    [
      'a stream just stops',
      res('POST', '/v1/chat/completions', 200, 'text/event-stream', sse(chunk)),
      /ended without \[DONE\]/,
    ],
    [
      'an unknown path answers 200',
      res('GET', '/v2/prompt', 200, 'application/json', {}),
      /no documented path matches/,
    ],
    [
      'a 405 has no Allow',
      res('GET', '/v1/prompt', 405, 'application/problem+json', { ...problem, status: 405 }),
      /405 without Allow/,
    ],
  ])('when %s, then it is a violation', (_what, response, message) => {
    expect(check(response).join('\n')).toMatch(message);
  });

  test('when the public document is checked, then the served /openapi.json body is the document', () => {
    expect(check(res('GET', '/openapi.json', 200, 'application/json', openApiDocument()))).toEqual([]);
  });
});

describe('the fetch hook of the integration tests', () => {
  let server: http.Server;
  let base: string;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      res.setHeader('x-request-id', 'r1');
      if (req.url === '/v1/chat/completions') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        return void res.end(
          `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk' })}\n\ndata: [DONE]\n\n`,
        );
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ answer: 42 }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    gatewayUrls.add(base); // as Stack does for a gateway it starts
  });
  afterAll(() => {
    gatewayUrls.delete(base);
    server.close();
  });

  test('when a gateway answers off the document, then the violation is recorded and the test still gets the body', async () => {
    const res = await fetch(`${base}/v1/prompt`, { method: 'POST' });
    expect(await res.json()).toEqual({ answer: 42 });
    expect(takeViolations().join('\n')).toMatch(
      /POST \/v1\/prompt → 200: body does not match the schema: \(root\) must have required property 'requestId'/,
    );
  });

  test('when a stream is read to its end, then each event is checked', async () => {
    const res = await fetch(`${base}/v1/chat/completions`, { method: 'POST' });
    expect(await res.text()).toContain('[DONE]');
    expect(takeViolations().join('\n')).toMatch(/event 0 does not match the schema/);
  });
});
