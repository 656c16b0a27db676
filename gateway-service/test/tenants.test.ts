/**
 * The gateway decides the tenant of every request from the authenticated key
 * and sends only that to ai-core: a caller reads another tenant only when
 * granted, manages another only with allTenants, and never sets ai-core's header.
 */
import request from 'supertest';
import { REQUESTED_TENANT_HEADER, TENANT_HEADER } from '@context-qa/common/contract';
import { sha256Hex } from '@context-qa/common/crypto';
import { Readiness } from '@context-qa/common/http';
import { createLogger } from '@context-qa/common/telemetry';
import type { AiCore, CallContext } from '../src/domain/ports';
import { createApp } from '../src/app';
import type { ApiKeyEntry } from '../src/domain/api-keys';
import { askResponse, limitDeps } from './fakes';

const KEYS = {
  legacy: 'cqa_test_legacy_0001', // no tenant: `default`
  askA: 'cqa_test_ask_a_0001',
  askB: 'cqa_test_ask_b_0001',
  adminA: 'cqa_test_admin_a_0001',
  root: 'cqa_test_root_0001',
} as const;
const ENTRIES: ApiKeyEntry[] = [
  { id: 'legacy', scope: 'ask', sha256: sha256Hex(KEYS.legacy) },
  { id: 'ask-a', scope: 'ask', sha256: sha256Hex(KEYS.askA), tenant: 'team-a', readTenants: ['shared'] },
  { id: 'ask-b', scope: 'ask', sha256: sha256Hex(KEYS.askB), tenant: 'team-b' },
  { id: 'admin-a', scope: 'admin', sha256: sha256Hex(KEYS.adminA), tenant: 'team-a', readTenants: ['shared'] },
  { id: 'root', scope: 'admin', sha256: sha256Hex(KEYS.root), tenant: 'ops', allTenants: true },
];

function setup() {
  const calls: { method: string; path: string; ctx: CallContext }[] = [];
  const aiCore: AiCore = {
    async send(method, path, _body, ctx) {
      calls.push({ method, path, ctx });
      if (path.startsWith('/v1/chat'))
        return { status: 200, body: { choices: [], usage: { prompt_tokens: 1, completion_tokens: 1 } } };
      return { status: 200, body: path === '/process' ? askResponse() : { key: 'k', text: 't' } };
    },
    open(method, path, body, ctx, deadline) {
      return this.send(method, path, body, ctx, deadline);
    },
  };
  const app = createApp({
    logger: createLogger('test', 'silent'),
    aiCore,
    apiKeys: () => ENTRIES,
    readiness: new Readiness({}),
    bodyLimit: '1kb',
    requestTimeoutMs: 5000,
    limits: limitDeps().deps,
  });
  const tenantsSent = () => calls.map((c) => c.ctx.headers?.[TENANT_HEADER]);
  return { app, calls, tenantsSent };
}

type App = ReturnType<typeof setup>['app'];
const prompt = (app: App, key: string, headers: Record<string, string> = {}) =>
  request(app)
    .post('/v1/prompt')
    .set({ authorization: `Bearer ${key}`, ...headers })
    .send({ prompt: 'What are the prices?', contextKey: 'pricing' });
const legacyPrompt = (app: App, key: string, headers: Record<string, string> = {}) =>
  request(app)
    .post('/prompt?prompt=prices')
    .set({ authorization: `Bearer ${key}`, ...headers });
const chat = (app: App, key: string, headers: Record<string, string> = {}) =>
  request(app)
    .post('/v1/chat/completions')
    .set({ authorization: `Bearer ${key}`, ...headers })
    .send({ model: 'auto', messages: [{ role: 'user', content: 'prices?' }], context_key: 'pricing' });

describe('the tenant sent to ai-core', () => {
  test("when a key has a tenant, then every answer route sends ai-core that tenant; a key without one sends 'default'", async () => {
    const s = setup();
    expect((await prompt(s.app, KEYS.askA)).status).toBe(200);
    expect((await legacyPrompt(s.app, KEYS.askB)).status).toBe(200);
    expect((await chat(s.app, KEYS.askA)).status).toBe(200);
    expect((await prompt(s.app, KEYS.legacy)).status).toBe(200);
    expect(s.tenantsSent()).toEqual(['team-a', 'team-b', 'team-a', 'default']);
  });

  test("when a caller sends ai-core's tenant header itself, then it is not forwarded: the key's tenant is", async () => {
    const s = setup();
    await prompt(s.app, KEYS.askB, { [TENANT_HEADER]: 'team-a' });
    await chat(s.app, KEYS.askB, { [TENANT_HEADER]: 'team-a' });
    await request(s.app)
      .get('/v1/context/pricing')
      .set({ authorization: `Bearer ${KEYS.adminA}`, [TENANT_HEADER]: 'team-b' });
    expect(s.tenantsSent()).toEqual(['team-b', 'team-b', 'team-a']);
  });

  test('when a key asks for a tenant it was granted to read, then that tenant is sent', async () => {
    const s = setup();
    expect((await prompt(s.app, KEYS.askA, { [REQUESTED_TENANT_HEADER]: 'shared' })).status).toBe(200);
    expect((await chat(s.app, KEYS.askA, { [REQUESTED_TENANT_HEADER]: 'shared' })).status).toBe(200);
    expect(
      (
        await request(s.app)
          .get('/v1/context/pricing')
          .set({ authorization: `Bearer ${KEYS.adminA}`, [REQUESTED_TENANT_HEADER]: 'shared' })
      ).status,
    ).toBe(200);
    expect(s.tenantsSent()).toEqual(['shared', 'shared', 'shared']);
  });

  test.each<[string, (app: App) => request.Test]>([
    ['POST /v1/prompt', (app) => prompt(app, KEYS.askB, { [REQUESTED_TENANT_HEADER]: 'team-a' })],
    ['POST /prompt', (app) => legacyPrompt(app, KEYS.askB, { [REQUESTED_TENANT_HEADER]: 'team-a' })],
    [
      'POST /v1/prompt (granted to another key)',
      (app) => prompt(app, KEYS.askB, { [REQUESTED_TENANT_HEADER]: 'shared' }),
    ],
    [
      'GET /v1/context',
      (app) =>
        request(app)
          .get('/v1/context/pricing')
          .set({ authorization: `Bearer ${KEYS.adminA}`, [REQUESTED_TENANT_HEADER]: 'team-b' }),
    ],
    [
      'PUT /v1/context (read-only grant)',
      (app) =>
        request(app)
          .put('/v1/context/pricing')
          .set({ authorization: `Bearer ${KEYS.adminA}`, [REQUESTED_TENANT_HEADER]: 'shared' })
          .send({ text: 'x' }),
    ],
    [
      'DELETE /v1/context',
      (app) =>
        request(app)
          .delete('/v1/context/pricing')
          .set({ authorization: `Bearer ${KEYS.adminA}`, [REQUESTED_TENANT_HEADER]: 'team-b' }),
    ],
  ])(
    'when %s names a tenant the key may not use, then 403 tenant_not_granted and ai-core is not called',
    async (_what, send) => {
      const s = setup();
      const res = await send(s.app);
      expect(res.status).toBe(403);
      expect(res.headers['content-type']).toMatch(/problem\+json/);
      expect(res.body).toMatchObject({ code: 'tenant_not_granted' });
      expect(s.calls).toEqual([]);
    },
  );

  test('when chat names a tenant the key may not read, then 403 in OpenAI shape and ai-core is not called', async () => {
    const s = setup();
    const res = await chat(s.app, KEYS.askB, { [REQUESTED_TENANT_HEADER]: 'team-a' });
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ error: { code: 'tenant_not_granted' } });
    expect(s.calls).toEqual([]);
  });

  test('when the named tenant is malformed, then 400 invalid_tenant', async () => {
    const s = setup();
    const res = await prompt(s.app, KEYS.askA, { [REQUESTED_TENANT_HEADER]: 'team-a::x' });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'invalid_tenant' });
    expect(s.calls).toEqual([]);
  });

  test('when an all-tenants admin names any tenant, then it may read and write there', async () => {
    const s = setup();
    const as = { authorization: `Bearer ${KEYS.root}`, [REQUESTED_TENANT_HEADER]: 'team-b' };
    expect((await request(s.app).put('/v1/context/pricing').set(as).send({ text: 'x' })).status).toBe(200);
    expect((await request(s.app).delete('/v1/context/pricing').set(as)).status).toBe(200);
    expect((await prompt(s.app, KEYS.root, { [REQUESTED_TENANT_HEADER]: 'team-a' })).status).toBe(200);
    expect(s.tenantsSent()).toEqual(['team-b', 'team-b', 'team-a']);
  });
});

describe('usage of a key', () => {
  const usage = (app: App, key: string, keyId: string) =>
    request(app).get(`/v1/usage/${keyId}`).set('authorization', `Bearer ${key}`);

  test("when an admin asks for a key of its own tenant, then 200; of another tenant's (or no) key, then 404 like an unknown one", async () => {
    const s = setup();
    expect((await usage(s.app, KEYS.adminA, 'ask-a')).status).toBe(200);
    const other = await usage(s.app, KEYS.adminA, 'ask-b');
    expect(other.status).toBe(404);
    expect(other.body).toMatchObject({ code: 'key_not_found' });
    expect((await usage(s.app, KEYS.adminA, 'legacy')).status).toBe(404);
    expect((await usage(s.app, KEYS.adminA, 'nobody')).status).toBe(404);
  });

  test('when an all-tenants admin asks, then any key id is answered', async () => {
    const s = setup();
    expect((await usage(s.app, KEYS.root, 'ask-b')).status).toBe(200);
    expect((await usage(s.app, KEYS.root, 'legacy')).status).toBe(200);
  });
});
