/**
 * The playground (GET /playground) in a real browser: Debian's Chromium,
 * headless, driven by playwright-core (no browser download), against a real
 * stack (gateway → daprd → ai-core → Redis/dynalite and the model simulator).
 * Screenshots and the page's transfer size go to test-artifacts/playground/ (git-ignored).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page, type Route } from 'playwright-core';
import { STRATEGIES } from '@context-qa/common/contract';
import { DEV_KEYS, repoRoot, serviceApps, useStack } from '@context-qa/testkit';
import { PLAYGROUND_CSP } from '../../gateway-service/src/entry-points/playground';

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const ARTIFACTS = path.join(repoRoot, 'test-artifacts', 'playground');
// The simulator's deployment/model ids behind the models gpt4 and llama4; its answers start with them.
const GPT = 'gpt-4';
const LLAMA = 'us.meta.llama4-maverick-17b-instruct-v1:0';

let browser: Browser;
let gateway: string;
let context: BrowserContext;
let page: Page;

afterAll(() => browser?.close()); // before the stack stops: hooks run in the order declared
beforeAll(() => {
  if (!existsSync(CHROMIUM))
    throw new Error(
      `no Chromium at ${CHROMIUM}: \`make setup\` installs it (apt package chromium), or set CHROMIUM_PATH`,
    );
});
const stack = useStack({ apps: serviceApps() });
beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  gateway = stack.appUrl('gateway-service');
}, 60_000);
beforeEach(async () => {
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  page.setDefaultTimeout(15_000);
});
afterEach(async () => {
  await context?.close();
  await stack.simulator.heal();
});

async function open(apiKey: string = DEV_KEYS.ask) {
  const res = await page.goto(`${gateway}/playground`);
  await page.fill('#api-key', apiKey);
  return res!;
}

type AskOptions = { contextKey?: string; strategy?: string; stream?: boolean };

/** Fills the form and presses Ask, without waiting for the answer. */
async function submitAsk(prompt: string, opts: AskOptions = {}) {
  await page.fill('#prompt', prompt);
  await page.fill('#ask-context-key', opts.contextKey ?? '');
  await page.selectOption('#strategy', opts.strategy ?? 'both');
  await page.setChecked('#stream', opts.stream ?? false);
  await page.click('#ask-submit');
}

/** Asks through the form and waits for the answer (or the error) to be shown. */
async function ask(prompt: string, opts: AskOptions = {}) {
  await submitAsk(prompt, opts);
  await page.waitForSelector('#answer-text[aria-busy="false"]', { state: 'attached' });
}

const text = async (selector: string) => (await page.locator(selector).textContent()) ?? '';
const card = (model: string) => page.locator(`[data-model="${model}"]`);
/** Waits (by selector: string predicates would need eval, which the page's CSP refuses) until `selector`'s text matches. */
const shows = (selector: string, pattern: RegExp) => page.locator(selector).filter({ hasText: pattern }).waitFor();

/** Saves context through the page's context form (admin key in the key field). */
async function saveContext(key: string, value: string) {
  await page.fill('#context-key', key);
  await page.fill('#context-text', value);
  await page.click('#context-save');
  await shows('#context-status', /^Saved/);
}

test('when a question is asked with a stored context key, then the answer quotes it and each model is shown with its outcome', async () => {
  await stack.seedContextStore({ 'handbook/onboarding': 'New hires get a laptop on day one.' });
  const sizes = new Map<string, number>();
  page.on('requestfinished', async (req) => {
    if (!new URL(req.url()).pathname.startsWith('/playground')) return;
    const s = await req.sizes();
    sizes.set(new URL(req.url()).pathname, s.responseHeadersSize + s.responseBodySize);
  });
  await open();
  expect(
    await page
      .locator('#strategy option')
      .evaluateAll((options) => options.map((o) => (o as unknown as { value: string }).value)),
  ).toEqual([...STRATEGIES]);

  const response = page.waitForResponse(`${gateway}/v1/prompt`);
  await ask('What do new hires get?', { contextKey: 'handbook/onboarding' });
  const requestId = (await response).headers()['x-request-id'];
  expect(await text('#answer-text')).toContain('Based on the context "New hires get a laptop on day one."');
  expect(await text('#answer-status')).toMatch(/^Answered by gpt4 in \d+ ms\.$/);
  expect(await text('#answer-meta')).toContain('from dynamodb, key handbook/onboarding');
  expect(await page.inputValue('#request-id')).toBe(requestId);
  for (const [model, id] of [
    ['gpt4', GPT],
    ['llama4', LLAMA],
  ]) {
    expect(await card(model!).textContent()).toMatch(
      new RegExp(`Statusok.*Latency\\d+ ms.*Tokens\\d+ in, \\d+ out.*\\[${id}\\] Based on the context "New hires`),
    );
  }
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: gateway });
  await page.click('#copy-request-id');
  await shows('.request-id [role=status]', /^Copied\.$/);
  expect(await page.evaluate('navigator.clipboard.readText()')).toBe(requestId);
  // No navigator.clipboard (plain http from another host): Copy selects the id instead.
  await page.evaluate(`Object.defineProperty(navigator, 'clipboard', { value: undefined })`);
  await page.click('#copy-request-id');
  await shows('.request-id [role=status]', /^Selected: press Ctrl\+C to copy\.$/);
  expect(
    await page.evaluate(
      `(({ value, selectionStart, selectionEnd }) => value.slice(selectionStart, selectionEnd))(document.getElementById('request-id'))`,
    ),
  ).toBe(requestId);

  // 200 % and 400 % zoom of a 1280 px window (640 and 320 CSS px), with the whole answer shown: nothing cut off sideways.
  for (const width of [640, 320]) {
    await page.setViewportSize({ width, height: 900 });
    await page.screenshot({ path: path.join(ARTIFACTS, `width-${width}.png`), fullPage: true });
    expect(await page.evaluate('document.documentElement.scrollWidth <= document.documentElement.clientWidth')).toBe(
      true,
    );
  }
  await page.setViewportSize({ width: 1280, height: 900 });

  // Streamed: the same context through the OpenAI-compatible route, one model's answer.
  await ask('What do new hires get?', { contextKey: 'handbook/onboarding', strategy: 'primary', stream: true });
  expect(await text('#answer-text')).toContain('[gpt-4] Based on the context "New hires get a laptop on day one."');
  expect(await text('#answer-status')).toMatch(/^Streamed by gpt4 in \d+ ms\.$/);
  expect(await text('#answer-meta')).toMatch(/First token\d+ ms.*Tokens\d+ in, \d+ out/);
  // A strategy that cannot stream: the API's 400 stands beside the strategy field.
  await ask('What do new hires get?', { strategy: 'both', stream: true });
  expect(await text('#strategy-error')).toContain('cannot stream');
  expect(await page.getAttribute('#strategy', 'aria-invalid')).toBe('true');

  const total = [...sizes.values()].reduce((a, b) => a + b, 0);
  writeFileSync(
    path.join(ARTIFACTS, 'transfer-size.json'),
    JSON.stringify({ total, files: Object.fromEntries(sizes) }, null, 2),
  );
  expect([...sizes.keys()].sort()).toEqual([
    '/playground',
    '/playground/api.js',
    '/playground/app.js',
    '/playground/playground.css',
  ]);
  expect(total).toBeLessThan(40_000); // the page stays small: no framework
});

test('when a model fails, then the answer is marked degraded and comes from the other model', async () => {
  await stack.simulator.setFault(GPT, { failRate: 1, error: 'throttling' });
  await open();
  await ask(`Degraded? ${Date.now()}`);
  expect(await text('#answer-status')).toBe("Degraded: gpt4 gave no answer (rate_limited); the answer is llama4's.");
  expect(await text('#answer-text')).toMatch(new RegExp(`^\\[${LLAMA}\\] No context was provided`));
  expect(await card('gpt4').getAttribute('class')).toBe('model failed');
  expect(await card('gpt4').textContent()).toContain('Errorrate_limited: the model provider throttled the call');
  expect(await card('llama4').textContent()).toContain('Statusok');
  await page.screenshot({ path: path.join(ARTIFACTS, 'degraded.png'), fullPage: true });
});

test('when the key is wrong, then the 401 message is shown', async () => {
  await open('cqa_not_a_key');
  await ask('Anyone there?');
  expect(await text('#ask-alert')).toMatch(/^401 unauthorized: API key not recognised \(request id [\w-]+\)$/);
  expect(await text('#answer-status')).toBe('No answer.');
});

test('when context is edited in the page, then the next answer uses the new text; bad fields are named beside them', async () => {
  await open(DEV_KEYS.admin);
  await saveContext('policy', 'Refunds take 14 days.');
  await ask('How long do refunds take?', { contextKey: 'policy' });
  expect(await text('#answer-text')).toContain('Refunds take 14 days.');

  await page.click('#context-load');
  await shows('#context-status', /^Loaded/);
  expect(await page.inputValue('#context-text')).toBe('Refunds take 14 days.');
  await saveContext('policy', 'Refunds take 30 days.');
  await ask('How long do refunds take?', { contextKey: 'policy' });
  expect(await text('#answer-text')).toContain('Refunds take 30 days.');

  // The API's validation errors, next to the fields they name; the first one focused.
  await page.fill('#context-text', '');
  await page.fill('#context-ttl', '0');
  await page.click('#context-save');
  await page.waitForSelector('#context-text[aria-invalid="true"]');
  expect(await text('#context-text-error')).toMatch(/^Too small/);
  expect(await text('#context-ttl-error')).toMatch(/^Too small/);
  expect(await page.getAttribute('#context-ttl', 'aria-describedby')).toBe('context-ttl-error');
  expect(await page.evaluate('document.activeElement.id')).toBe('context-text');
  expect(await text('#context-alert')).toMatch(
    /^400 bad_request: please correct the marked fields \(request id [\w-]+\)$/,
  );
  await page.screenshot({ path: path.join(ARTIFACTS, 'context-errors.png'), fullPage: true });

  // While a request runs, the form's buttons are disabled (held here until checked).
  let release = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  await page.route(`${gateway}/v1/context/**`, async (route) => {
    await held;
    await route.continue();
  });
  await page.click('#context-load');
  expect(await page.locator('#context-form button:disabled').count()).toBe(3);
  release();
  await shows('#context-status', /^Loaded/);
  expect(await page.locator('#context-form button:disabled').count()).toBe(0);
  await page.unroute(`${gateway}/v1/context/**`);

  // Delete asks first; changing the key cancels.
  await page.click('#context-delete');
  await shows('#context-status', /^Press "Confirm delete" to delete "policy"/);
  expect(await text('#context-delete')).toBe('Confirm delete');
  await page.fill('#context-key', 'policy');
  expect([await text('#context-delete'), await text('#context-status')]).toEqual(['Delete', '']);
  await page.click('#context-delete');
  await page.click('#context-delete');
  await shows('#context-status', /^Deleted "policy"\.$/);
  await page.click('#context-load');
  await shows('#context-status', /^Nothing is stored under "policy"\.$/);
});

test('when only the keyboard is used, then Tab reaches every control in order with a visible focus ring; Enter and Space work them', async () => {
  await stack.seedContextStore({ keyboard: 'Keyboards have keys.' });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: gateway });
  await page.goto(`${gateway}/playground`);
  const focused = () =>
    page.evaluate<{ id: string; visible: boolean }>(
      `({ id: document.activeElement.id, visible: document.activeElement.matches(':focus-visible') && getComputedStyle(document.activeElement).outlineStyle !== 'none' })`,
    );
  const order: string[] = [];
  const tab = async (type?: string) => {
    await page.keyboard.press('Tab');
    const f = await focused();
    expect(f).toEqual({ id: f.id, visible: true });
    order.push(f.id);
    if (type) await page.keyboard.type(type);
  };
  await tab(DEV_KEYS.admin);
  await tab(); // keep-key checkbox
  await tab('What do keyboards have?');
  await tab('keyboard');
  await tab();
  await page.keyboard.press('ArrowDown'); // strategy: both → fastest
  await tab();
  await tab();
  await tab();
  expect(order).toEqual([
    'api-key',
    'remember-key',
    'prompt',
    'ask-context-key',
    'strategy',
    'max-tokens',
    'stream',
    'ask-submit',
  ]);
  await page.keyboard.press('Enter');
  await page.waitForSelector('#answer-text[aria-busy="false"]', { state: 'attached' });
  expect(await text('#answer-text')).toContain('Keyboards have keys.');
  expect(await text('#answer-meta')).toContain('Strategyfastest');

  // On to the request id's Copy, then the context form: Load, Save and a confirmed Delete.
  await tab(); // request id
  await tab();
  await page.keyboard.press('Enter');
  await shows('.request-id [role=status]', /^Copied\.$/);
  await tab('keyboard');
  await tab();
  await tab();
  await tab();
  await page.keyboard.press('Space');
  await shows('#context-status', /^Loaded "keyboard"/);
  expect(await focused()).toEqual({ id: 'context-load', visible: true }); // back on the button after the request
  await tab();
  await page.keyboard.press('Enter');
  await shows('#context-status', /^Saved "keyboard"/);
  await tab();
  await page.keyboard.press('Space');
  await shows('#context-status', /^Press "Confirm delete"/);
  await page.keyboard.press('Enter');
  await shows('#context-status', /^Deleted "keyboard"\.$/);
  expect(order.slice(8)).toEqual([
    'request-id',
    'copy-request-id',
    'context-key',
    'context-text',
    'context-ttl',
    'context-load',
    'context-save',
    'context-delete',
  ]);
  expect(await focused()).toEqual({ id: 'context-delete', visible: true });
  await page.screenshot({ path: path.join(ARTIFACTS, 'keyboard.png'), fullPage: true });
});

test('when context holds markup, then it is shown as text; the CSP blocks inline script and handlers injected anyway', async () => {
  const violations: string[] = [];
  page.on('console', (m) => m.text().includes('Content Security Policy') && violations.push(m.text()));
  const res = await open(DEV_KEYS.admin);
  expect(res.headers()['content-security-policy']).toBe(PLAYGROUND_CSP);
  expect(res.headers()['x-content-type-options']).toBe('nosniff');
  const markup = `<script>window.pwned = 'script'</script><img src="x" onerror="window.pwned = 'img'">`;
  await saveContext('markup', markup);
  await ask('What is in it?', { contextKey: 'markup' });
  expect(await text('#answer-text')).toContain(markup);
  expect(await page.locator('#answer img, #answer script').count()).toBe(0);

  // Were markup ever to reach the DOM, the CSP stops it: inject both kinds and watch the violations.
  await page.evaluate(`
    window.blocked = [];
    document.addEventListener('securitypolicyviolation', (e) => window.blocked.push(e.violatedDirective));
    const s = document.createElement('script');
    s.textContent = "window.pwned = 'inline'";
    document.body.append(s);
    document.body.insertAdjacentHTML('beforeend', ${JSON.stringify(markup)});`);
  await page.waitForFunction(() => (globalThis as unknown as { blocked: string[] }).blocked.length >= 2);
  expect(await page.evaluate('[...new Set(window.blocked)].sort()')).toEqual(['script-src-attr', 'script-src-elem']);
  expect(await page.evaluate('window.pwned')).toBeUndefined();
  expect(violations.length).toBeGreaterThanOrEqual(2);
});

test('when the key is used, then no URL and no localStorage holds it; sessionStorage only while "Keep it for this tab" is ticked', async () => {
  const urls: string[] = [];
  page.on('request', (req) => urls.push(req.url()));
  await open(DEV_KEYS.admin);
  await ask(`Where does my key go? ${Date.now()}`);
  await saveContext('key-check', 'Keys stay in memory.');
  const stored = () =>
    page.evaluate(
      `[localStorage.length, sessionStorage.length, sessionStorage.getItem('context-qa.playground.apiKey')]`,
    );
  expect(await stored()).toEqual([0, 0, null]);
  await page.check('#remember-key');
  expect(await stored()).toEqual([0, 1, DEV_KEYS.admin]);
  await page.reload();
  expect([await page.inputValue('#api-key'), await page.isChecked('#remember-key')]).toEqual([DEV_KEYS.admin, true]);
  await page.uncheck('#remember-key');
  expect(await stored()).toEqual([0, 0, null]);
  expect(urls.filter((u) => u.includes('/v1/'))).toHaveLength(2);
  expect(urls.filter((u) => decodeURIComponent(u).includes(DEV_KEYS.admin))).toEqual([]);
});

test('when a question is asked while another runs, then the first is aborted; Stop ends a stream and keeps what came', async () => {
  await stack.seedContextStore({ 'race/first': 'First context.', 'race/second': 'Second context.' });
  // Slow only for prompts that say "Slow": the question after it answers at once.
  await stack.simulator.setFault(GPT, { latencyMs: 3000, onlyIf: 'Slow' });
  await open();
  const sent = page.waitForRequest(`${gateway}/v1/prompt`);
  await submitAsk('Slow: which context?', { contextKey: 'race/first' });
  await sent;
  const aborted = page.waitForEvent('requestfailed');
  await ask('Which context?', { contextKey: 'race/second' });
  const first = await aborted;
  expect([first.url(), first.failure()?.errorText]).toEqual([`${gateway}/v1/prompt`, 'net::ERR_ABORTED']);
  expect(await text('#answer-text')).toContain('Second context.');
  expect(await text('#answer-status')).toMatch(/^Answered by gpt4 in \d+ ms\.$/);

  await stack.simulator.setFault(GPT, { chunkDelayMs: 2000, onlyIf: 'Slow' });
  const stopped = page.waitForEvent('requestfailed');
  await submitAsk('Slow: stream it', { strategy: 'primary', stream: true });
  await shows('#answer-text', /\S/); // the first chunk is in
  await page.click('#stop');
  await page.waitForSelector('#answer-text[aria-busy="false"]', { state: 'attached' });
  expect((await stopped).url()).toBe(`${gateway}/v1/chat/completions`);
  expect(await text('#answer-status')).toBe('Stopped.');
  expect(await text('#answer-text')).toMatch(/^\[gpt-4\] /);
  expect(await page.isDisabled('#stop')).toBe(true);
  expect(await page.evaluate('document.activeElement.id')).toBe('ask-submit');
});

test('when a stream has CRLF line ends and "data:" without a space, then it is read; an event that is not JSON is a 502', async () => {
  // The gateway writes LF and "data: "; a proxy on the way may not. Served here, as the stack never sends these.
  const chunk = (content: string) =>
    JSON.stringify({
      id: 'c',
      object: 'chat.completion.chunk',
      created: 0,
      model: 'gpt4',
      choices: [{ index: 0, delta: { content }, finish_reason: null }],
    });
  let body = `data:${chunk('Hello, ')}\r\n\r\n: a comment\r\ndata: ${chunk('world.')}\r\n\r\ndata: [DONE]\r\n\r\n`;
  await page.route(`${gateway}/v1/chat/completions`, (route) =>
    route.fulfill({ status: 200, contentType: 'text/event-stream', body }),
  );
  await open();
  await ask('Hello?', { strategy: 'primary', stream: true });
  expect(await text('#answer-text')).toBe('Hello, world.');
  expect(await text('#answer-status')).toMatch(/^Streamed by gpt4 in \d+ ms\.$/);
  body = `data: ${chunk('Hello')}\r\n\r\ndata: {"cut\r\n\r\n`;
  await ask('Hello?', { strategy: 'primary', stream: true });
  expect(await text('#ask-alert')).toBe('502 bad_stream: the stream carried an event that is not JSON');
});

test('when a route is not served on this listener (ADMIN_PORT), then Ask and the context form say so', async () => {
  // The gateway's own unmatched-route 404, fetched from a path no listener has: one gateway stands in for a split pair.
  const notHere = async (route: Route) =>
    route.fulfill({ response: await route.fetch({ url: `${gateway}/v1/not-on-this-listener` }) });
  await page.route(`${gateway}/v1/prompt`, notHere);
  await page.route(`${gateway}/v1/context/**`, notHere);
  await open(DEV_KEYS.admin);
  await ask('Anyone there?');
  expect(await text('#ask-alert')).toMatch(
    /^404 not_found: this listener does not serve the ask routes: open the playground on the gateway's public port, not the admin one \(request id /,
  );
  await page.fill('#context-key', 'policy');
  await page.click('#context-load');
  await shows(
    '#context-alert',
    /^404 not_found: this listener does not serve the context routes: open the playground on the gateway's admin port \(ADMIN_PORT\)/,
  );
  expect(await text('#context-status')).toBe('');
});
