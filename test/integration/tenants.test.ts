/**
 * Tenants end to end (docs/tenants-and-limits.md "Tenants"), on both component sets: two tenants'
 * keys, every route that reads context (/v1/prompt, /prompt, chat with
 * context_key and x-context-key, the admin routes, the question's own
 * sha256: key, the answer cache, usage) keep each tenant's context to its
 * owners; a granted `shared` tenant is readable; the dev keys still work.
 */
import type { AskResponse } from '@context-qa/common/contract';
import { sha256Hex } from '@context-qa/common/crypto';
import type { Problem } from '@context-qa/common/http';
import { devSecrets, DEV_KEYS, serviceApps, useStack, type ComponentSet } from '@context-qa/testkit';

const KEYS = {
  askA: 'cqa_it_ask_team_a_7c1d',
  adminA: 'cqa_it_admin_team_a_2e9f',
  askB: 'cqa_it_ask_team_b_5a3b',
  adminB: 'cqa_it_admin_team_b_8d0c',
  adminShared: 'cqa_it_admin_shared_4f6e',
} as const;

function secrets(): Record<string, unknown> {
  const dev = JSON.parse(devSecrets()['gateway-api-keys']!) as unknown[];
  const keys = [
    ...dev, // no tenant: `default`, as before
    { id: 'ask-a', scope: 'ask', sha256: sha256Hex(KEYS.askA), tenant: 'team-a' },
    { id: 'admin-a', scope: 'admin', sha256: sha256Hex(KEYS.adminA), tenant: 'team-a' },
    { id: 'ask-b', scope: 'ask', sha256: sha256Hex(KEYS.askB), tenant: 'team-b', readTenants: ['shared'] },
    { id: 'admin-b', scope: 'admin', sha256: sha256Hex(KEYS.adminB), tenant: 'team-b' },
    { id: 'admin-shared', scope: 'admin', sha256: sha256Hex(KEYS.adminShared), tenant: 'shared' },
  ];
  return { ...devSecrets(), 'gateway-api-keys': JSON.stringify(keys) };
}

const SECRET = 'Team A pays 42 euros per seat.';
/** ai-core's key for a question without contextKey (domain/context.ts contextKeyFor). */
const questionKey = (q: string) => `sha256:${sha256Hex(q.normalize('NFKC').trim().replace(/\s+/g, ' ').toLowerCase())}`;

describe.each<ComponentSet>(['local', 'memory'])('tenants on components/%s', (components) => {
  let gateway: string;

  const call = (
    path: string,
    key: string,
    init: { method?: string; body?: unknown; headers?: Record<string, string> } = {},
  ) =>
    fetch(`${gateway}${path}`, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: {
        authorization: `Bearer ${key}`,
        ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...init.headers,
      },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
  const ask = async (key: string, body: Record<string, unknown>, headers: Record<string, string> = {}) => {
    const res = await call('/v1/prompt', key, { body: { strategy: 'primary', ...body }, headers });
    return { status: res.status, body: (await res.json()) as AskResponse };
  };
  const chat = async (key: string, body: Record<string, unknown>, headers: Record<string, string> = {}) => {
    const res = await call('/v1/chat/completions', key, {
      body: { model: 'primary', messages: [{ role: 'user', content: 'What does a seat cost?' }], ...body },
      headers,
    });
    const json = (await res.json()) as { choices?: { message: { content: string } }[]; error?: { code: string } };
    return {
      status: res.status,
      text: json.choices?.[0]?.message.content ?? '',
      cache: res.headers.get('x-context-qa-cache'),
      error: json.error,
    };
  };
  const put = (key: string, contextKey: string, text: string, headers: Record<string, string> = {}) =>
    call(`/v1/context/${encodeURIComponent(contextKey)}`, key, { method: 'PUT', body: { text }, headers });

  const stack = useStack({
    components,
    secrets: secrets(),
    apps: serviceApps({ answerCache: true, aiCoreEnv: { LOG_LEVEL: 'warn' }, gatewayEnv: { LOG_LEVEL: 'warn' } }),
  });

  beforeAll(async () => {
    gateway = stack.appUrl('gateway-service');
    expect((await put(KEYS.adminA, 'pricing', SECRET)).status).toBe(200);
  });

  test("when team B asks with team A's context key on /v1/prompt and /prompt, then it answers without A's text and reveals no source", async () => {
    const own = await ask(KEYS.askA, { prompt: 'What does a seat cost?', contextKey: 'pricing' });
    expect(own.body.answer).toContain(SECRET); // the premise: A reads it
    const other = await ask(KEYS.askB, { prompt: 'What does a seat cost?', contextKey: 'pricing' });
    expect(other.status).toBe(200);
    expect(other.body.answer).not.toContain('42 euros');
    expect(other.body.context).toEqual({ source: 'none', key: 'pricing' });
    const legacy = await call('/prompt?prompt=seat%20price', KEYS.askB, {
      method: 'POST',
      body: { prompt: 'What does a seat cost?', contextKey: 'pricing' },
    });
    expect(JSON.stringify(await legacy.json())).not.toContain('42 euros');
  });

  test("when team B sends team A's context key in chat (context_key, x-context-key), then the answer does not carry A's text", async () => {
    expect((await chat(KEYS.askA, { context_key: 'pricing' })).text).toContain('42 euros');
    const body = await chat(KEYS.askB, {
      context_key: 'pricing',
      messages: [{ role: 'user', content: 'Seat price, please?' }],
    });
    const header = await chat(
      KEYS.askB,
      { messages: [{ role: 'user', content: 'Seat price, please!' }] },
      { 'x-context-key': 'pricing' },
    );
    for (const out of [body, header]) {
      expect(out.status).toBe(200);
      expect(out.text).not.toContain('42 euros');
    }
  });

  test("when team B's admin reads, overwrites or deletes team A's context key, then it only touches its own tenant's", async () => {
    expect((await call('/v1/context/pricing', KEYS.adminB)).status).toBe(404);
    expect((await put(KEYS.adminB, 'pricing', 'Team B text.')).status).toBe(200);
    expect((await call('/v1/context/pricing', KEYS.adminB, { method: 'DELETE' })).status).toBe(200);
    const a = (await (await call('/v1/context/pricing', KEYS.adminA)).json()) as { text: string };
    expect(a.text).toBe(SECRET);
    const named = await call('/v1/context/pricing', KEYS.adminB, { headers: { 'x-context-tenant': 'team-a' } });
    expect(named.status).toBe(403);
    expect(((await named.json()) as Problem).code).toBe('tenant_not_granted');
  });

  test("when team B names team A as its tenant on an answer route, then 403 tenant_not_granted, in each route's error shape", async () => {
    const prompt = await ask(KEYS.askB, { prompt: 'seat?', contextKey: 'pricing' }, { 'x-context-tenant': 'team-a' });
    expect(prompt.status).toBe(403);
    expect((prompt.body as unknown as Problem).code).toBe('tenant_not_granted');
    const viaChat = await chat(KEYS.askB, { context_key: 'pricing' }, { 'x-context-tenant': 'team-a' });
    expect(viaChat.status).toBe(403);
    expect(viaChat.error?.code).toBe('tenant_not_granted');
  });

  test("when context is stored under a question's own sha256: key, then only its tenant's askers get it", async () => {
    const question = 'How many holidays does team A get?';
    expect((await put(KEYS.adminA, questionKey(question), 'Team A gets 31 holidays.')).status).toBe(200);
    expect((await ask(KEYS.askA, { prompt: question })).body.answer).toContain('31 holidays');
    const other = await ask(KEYS.askB, { prompt: question });
    expect(other.body.answer).not.toContain('31 holidays');
    expect(other.body.context.source).toBe('none');
  });

  test("when team A's answer is cached, then team B asking the same is not served it (prompt and chat)", async () => {
    const q = { prompt: 'Tell me the seat price exactly.', contextKey: 'pricing' };
    await ask(KEYS.askA, q);
    expect((await ask(KEYS.askA, q)).body.cache).toBe('hit');
    const other = await ask(KEYS.askB, q);
    expect(other.body.cache).toBe('miss');
    expect(other.body.answer).not.toContain('42 euros');
    const c = { context_key: 'pricing', messages: [{ role: 'user', content: 'Seat price exactly?' }] };
    await chat(KEYS.askA, c);
    expect((await chat(KEYS.askA, c)).cache).toBe('hit');
    const otherChat = await chat(KEYS.askB, c);
    expect(otherChat.cache).toBe('miss');
    expect(otherChat.text).not.toContain('42 euros');
  });

  test('when a key is granted the shared tenant, then it reads it there; a key not granted cannot; writes stay with its owner', async () => {
    expect((await put(KEYS.adminShared, 'handbook', 'Everyone gets a laptop.')).status).toBe(200);
    const granted = await ask(
      KEYS.askB,
      { prompt: 'What do I get?', contextKey: 'handbook' },
      { 'x-context-tenant': 'shared' },
    );
    expect(granted.body.answer).toContain('laptop');
    expect(
      (await ask(KEYS.askA, { prompt: 'What do I get?', contextKey: 'handbook' }, { 'x-context-tenant': 'shared' }))
        .status,
    ).toBe(403);
    expect((await ask(KEYS.askB, { prompt: 'What do I get?', contextKey: 'handbook' })).body.answer).not.toContain(
      'laptop',
    ); // not without naming it
    expect((await put(KEYS.adminB, 'handbook', 'x', { 'x-context-tenant': 'shared' })).status).toBe(403);
  });

  test("when an admin asks for another tenant's key usage, then 404; its own tenant's key, 200", async () => {
    expect((await call('/v1/usage/ask-a', KEYS.adminB)).status).toBe(404);
    expect((await call('/v1/usage/ask-b', KEYS.adminB)).status).toBe(200);
  });

  test("when the dev keys are used (tenant default), then they work as before and see neither team's context", async () => {
    expect((await put(DEV_KEYS.admin, 'dev/notes', 'Dev notes text.')).status).toBe(200);
    const dev = await ask(DEV_KEYS.ask, { prompt: 'Notes?', contextKey: 'dev/notes' });
    expect(dev.body.answer).toContain('Dev notes text.');
    expect(
      (await ask(DEV_KEYS.ask, { prompt: 'What does a seat cost?', contextKey: 'pricing' })).body.answer,
    ).not.toContain('42 euros');
    expect((await ask(KEYS.askA, { prompt: 'Notes?', contextKey: 'dev/notes' })).body.answer).not.toContain(
      'Dev notes text.',
    );
  });

  test("when an ingestion job writes a tenant's store key, then that tenant's askers read it", async () => {
    await stack.seedContextStore({ ingested: 'Ingested for team B.' }, 'team-b');
    expect((await ask(KEYS.askB, { prompt: 'Ingested?', contextKey: 'ingested' })).body.answer).toContain(
      'Ingested for team B.',
    );
    expect((await ask(KEYS.askA, { prompt: 'Ingested?', contextKey: 'ingested' })).body.answer).not.toContain(
      'Ingested for team B.',
    );
  });
});
