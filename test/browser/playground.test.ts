/**
 * The playground (GET /playground) in a real browser: Debian's Chromium,
 * headless, driven by playwright-core (no browser download), against a real
 * stack (gateway → daprd → ai-core → Redis/dynalite and the model simulator).
 * Screenshots and the page's transfer size go to test-artifacts/playground/ (git-ignored).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { STRATEGIES } from '@context-qa/common';
import { DEV_KEYS, repoRoot, serviceApps, Stack } from '@context-qa/testkit';
import { PLAYGROUND_CSP } from '../../gateway-service/src/entry-points/playground';

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const ARTIFACTS = path.join(repoRoot, 'test-artifacts', 'playground');
// The simulator's deployment/model ids behind the models gpt4 and llama4; its answers start with them.
const GPT = 'gpt-4';
const LLAMA = 'us.meta.llama4-maverick-17b-instruct-v1:0';

let stack: Stack;
let browser: Browser;
let gateway: string;
let context: BrowserContext;
let page: Page;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: \`make setup\` installs it (apt package chromium), or set CHROMIUM_PATH`);
  mkdirSync(ARTIFACTS, { recursive: true });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  stack = await new Stack({ apps: serviceApps() }).start();
  gateway = stack.appUrl('gateway-service');
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});
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

/** Asks through the form and waits for the answer (or the error) to be shown. */
async function ask(prompt: string, opts: { contextKey?: string; strategy?: string; stream?: boolean } = {}) {
  await page.fill('#prompt', prompt);
  await page.fill('#ask-context-key', opts.contextKey ?? '');
  await page.selectOption('#strategy', opts.strategy ?? 'both');
  await page.setChecked('#stream', opts.stream ?? false);
  await page.click('#ask-submit');
  await page.waitForSelector('#answer[aria-busy="false"]');
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
  expect(await page.locator('#strategy option').evaluateAll((options) => options.map((o) => (o as unknown as { value: string }).value))).toEqual([...STRATEGIES]);

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
    expect(await card(model!).textContent()).toMatch(new RegExp(`Statusok.*Latency\\d+ ms.*Tokens\\d+ in, \\d+ out.*\\[${id}\\] Based on the context "New hires`));
  }
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: gateway });
  await page.click('.request-id button');
  await shows('.request-id [role=status]', /^Copied\.$/);
  expect(await page.evaluate('navigator.clipboard.readText()')).toBe(requestId);

  // Streamed: the same context through the OpenAI-compatible route, one model's answer.
  await ask('What do new hires get?', { contextKey: 'handbook/onboarding', strategy: 'primary', stream: true });
  expect(await text('#answer-text')).toContain('[gpt-4] Based on the context "New hires get a laptop on day one."');
  expect(await text('#answer-status')).toMatch(/^Streamed by gpt4 in \d+ ms\.$/);
  expect(await text('#answer-meta')).toMatch(/First token\d+ ms.*Tokens\d+ in, \d+ out/);
  // A strategy that cannot stream: the API's 400 stands beside the strategy field.
  await ask('What do new hires get?', { strategy: 'both', stream: true });
  expect(await text('#strategy-error')).toContain('cannot stream');
  expect(await page.getAttribute('#strategy', 'aria-invalid')).toBe('true');

  // 200 % zoom of a 1280 px window: a 640 px wide viewport, nothing cut off sideways.
  await page.setViewportSize({ width: 640, height: 900 });
  await page.screenshot({ path: path.join(ARTIFACTS, 'zoom-200.png'), fullPage: true });
  expect(await page.evaluate('document.documentElement.scrollWidth <= document.documentElement.clientWidth')).toBe(true);

  const total = [...sizes.values()].reduce((a, b) => a + b, 0);
  writeFileSync(path.join(ARTIFACTS, 'transfer-size.json'), JSON.stringify({ total, files: Object.fromEntries(sizes) }, null, 2));
  expect([...sizes.keys()].sort()).toEqual(['/playground', '/playground/api.js', '/playground/app.js', '/playground/playground.css']);
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
  expect(await text('#context-alert')).toMatch(/^400 bad_request: please correct the marked fields \(request id [\w-]+\)$/);
  await page.screenshot({ path: path.join(ARTIFACTS, 'context-errors.png'), fullPage: true });

  await page.click('#context-delete');
  await shows('#context-status', /^Deleted "policy"\.$/);
  await page.click('#context-load');
  await shows('#context-status', /^Nothing is stored under "policy"\.$/);
});

test('when only the keyboard is used, then Tab reaches every control in order with a visible focus ring and Enter asks', async () => {
  await stack.seedContextStore({ keyboard: 'Keyboards have keys.' });
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
  await tab(DEV_KEYS.ask);
  await tab(); // keep-key checkbox
  await tab('What do keyboards have?');
  await tab('keyboard');
  await tab();
  await page.keyboard.press('ArrowDown'); // strategy: both → fastest
  await tab();
  await tab();
  await tab();
  expect(order).toEqual(['api-key', 'remember-key', 'prompt', 'ask-context-key', 'strategy', 'max-tokens', 'stream', 'ask-submit']);
  await page.keyboard.press('Enter');
  await page.waitForSelector('#answer[aria-busy="false"]');
  expect(await text('#answer-text')).toContain('Keyboards have keys.');
  expect(await text('#answer-meta')).toContain('Strategyfastest');
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
