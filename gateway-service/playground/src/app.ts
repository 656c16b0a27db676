/**
 * The playground page: ask (the whole answer with every model side by side,
 * or streamed) and manage the context behind a key. Text from people and
 * models reaches the page only as textContent, never as HTML.
 */
import type { AskResponse, ModelOutcome, Strategy } from '@context-qa/common/contract';
import { ApiError, ask, contexts, streamChat, type AskInput, type FieldError } from './api.js';

/** Every strategy of the contract (the compiler insists on each), as the menu shows it. */
const STRATEGY_LABELS: Record<Strategy, string> = {
  both: 'both (in parallel)',
  fastest: 'fastest (first success; streams)',
  primary: 'primary (the other on failure; streams)',
  sequential: 'sequential (one, then the other)',
  fuse: 'fuse (one answer from two drafts)',
};
/** sessionStorage only, and only when asked: gone with the tab, never in a URL or localStorage. */
const KEY_STORAGE = 'context-qa.playground.apiKey';

function byId<T extends HTMLElement>(id: string, type: { new (): T; prototype: T }): T {
  const found = document.getElementById(id);
  if (!(found instanceof type)) throw new Error(`playground: #${id} is missing`);
  return found;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, text = '', className = ''): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.textContent = text;
  if (className) node.className = className;
  return node;
}

const keyField = byId('api-key', HTMLInputElement);
const remember = byId('remember-key', HTMLInputElement);
const askForm = byId('ask-form', HTMLFormElement);
const prompt = byId('prompt', HTMLTextAreaElement);
const askContextKey = byId('ask-context-key', HTMLInputElement);
const strategy = byId('strategy', HTMLSelectElement);
const maxTokens = byId('max-tokens', HTMLInputElement);
const stream = byId('stream', HTMLInputElement);
const stopButton = byId('stop', HTMLButtonElement);
const askAlert = byId('ask-alert', HTMLParagraphElement);
const answerSection = byId('answer', HTMLElement);
const answerStatus = byId('answer-status', HTMLParagraphElement);
const answerText = byId('answer-text', HTMLParagraphElement);
const answerMeta = byId('answer-meta', HTMLDListElement);
const modelCards = byId('models', HTMLDivElement);
const contextForm = byId('context-form', HTMLFormElement);
const contextKey = byId('context-key', HTMLInputElement);
const contextText = byId('context-text', HTMLTextAreaElement);
const contextTtl = byId('context-ttl', HTMLInputElement);
const contextStatus = byId('context-status', HTMLParagraphElement);
const contextAlert = byId('context-alert', HTMLParagraphElement);

for (const [value, label] of Object.entries(STRATEGY_LABELS)) strategy.append(new Option(label, value));

const storedKey = sessionStorage.getItem(KEY_STORAGE);
if (storedKey) {
  keyField.value = storedKey;
  remember.checked = true;
}
const keepKey = () =>
  remember.checked ? sessionStorage.setItem(KEY_STORAGE, keyField.value) : sessionStorage.removeItem(KEY_STORAGE);
keyField.addEventListener('input', keepKey);
remember.addEventListener('change', keepKey);
const apiKey = () => keyField.value.trim();

/** Numbers as numbers; anything else as typed, so the API's own validation message names the field. */
const numberOrText = (v: string): unknown => (/^\s*-?\d+(\.\d+)?\s*$/.test(v) ? Number(v) : v);

// Errors: next to the field the API names (data-api-path lists its names on each route), else the form's alert.

function errorSlot(control: HTMLElement): HTMLElement {
  const id = `${control.id}-error`;
  const existing = document.getElementById(id);
  if (existing) return existing;
  const slot = el('p', '', 'field-error');
  slot.id = id;
  control.after(slot);
  control.setAttribute('aria-describedby', [control.getAttribute('aria-describedby'), id].filter(Boolean).join(' '));
  return slot;
}

function clearErrors(form: HTMLFormElement, alert: HTMLElement): void {
  for (const c of form.querySelectorAll('[aria-invalid="true"]')) c.removeAttribute('aria-invalid');
  for (const slot of form.querySelectorAll<HTMLElement>('.field-error')) slot.textContent = '';
  alert.textContent = '';
}

function describe(err: unknown, message = err instanceof Error ? err.message : String(err)): string {
  if (err instanceof ApiError) {
    const status = err.status >= 400 ? `${err.status} ` : '';
    return `${status}${err.code}: ${message}${err.requestId ? ` (request id ${err.requestId})` : ''}`;
  }
  return `The gateway could not be reached: ${message}`;
}

/** Field errors beside their fields (the first one focused); everything else in the alert. */
function showError(form: HTMLFormElement, alert: HTMLElement, err: unknown): void {
  const fields = err instanceof ApiError ? err.fields : [];
  const controls = [...form.querySelectorAll<HTMLElement>('[data-api-path]')];
  const placed: HTMLElement[] = [];
  const unplaced: FieldError[] = [];
  for (const f of fields) {
    const head = f.path.split('.')[0] ?? '';
    const control = controls.find((c) => (c.dataset['apiPath'] ?? '').split(' ').includes(head));
    if (!control) {
      unplaced.push(f);
      continue;
    }
    control.setAttribute('aria-invalid', 'true');
    const slot = errorSlot(control);
    slot.textContent = slot.textContent ? `${slot.textContent}; ${f.message}` : f.message;
    placed.push(control);
  }
  placed[0]?.focus();
  // Every message already stands beside its field: the alert only says so.
  alert.textContent =
    placed.length && !unplaced.length ? describe(err, 'please correct the marked fields') : describe(err);
}

/**
 * The gateway's 404 for a path this listener lacks (its route table's "no route for METHOD /path",
 * packages/common http.ts), unlike an API 404 such as "no context is stored". With ADMIN_PORT set,
 * the public listener has no context routes and the admin listener no ask routes.
 */
const routeMissing = (err: unknown): err is ApiError =>
  err instanceof ApiError && err.status === 404 && err.message.startsWith('no route for');

function notServedHere(err: unknown, routes: 'ask' | 'context'): unknown {
  if (!routeMissing(err)) return err;
  const where = routes === 'ask' ? 'public port, not the admin one' : 'admin port (ADMIN_PORT)';
  return new ApiError(
    404,
    err.code,
    `this listener does not serve the ${routes} routes: open the playground on the gateway's ${where}`,
    err.requestId,
  );
}

// Asking.

let running: AbortController | undefined;

function askInput(): AskInput {
  return {
    prompt: prompt.value,
    strategy: strategy.value as Strategy,
    ...(askContextKey.value !== '' ? { contextKey: askContextKey.value } : {}),
    ...(maxTokens.value.trim() !== '' ? { maxTokens: numberOrText(maxTokens.value) } : {}),
  };
}

function metaRows(rows: [string, string | Node][]): void {
  answerMeta.replaceChildren(
    ...rows.flatMap(([term, value]) => [el('dt', term), value instanceof Node ? wrap(value) : el('dd', value)]),
  );
}
const wrap = (node: Node) => {
  const dd = el('dd');
  dd.append(node);
  return dd;
};

/** The request id, selectable and copyable, to find the request in logs and traces. */
function requestIdControl(id: string): Node {
  const box = el('span', '', 'request-id');
  const field = el('input');
  Object.assign(field, { id: 'request-id', readOnly: true, value: id });
  field.setAttribute('aria-label', 'Request id');
  const copy = el('button', 'Copy');
  Object.assign(copy, { id: 'copy-request-id', type: 'button' });
  const done = el('span', '', 'hint');
  done.setAttribute('role', 'status');
  const selectIt = () => {
    field.select();
    done.textContent = 'Selected: press Ctrl+C to copy.';
  };
  copy.addEventListener('click', () => {
    // No navigator.clipboard outside a secure context (plain http from another host): select instead.
    const written = (navigator.clipboard as Clipboard | undefined)?.writeText(id);
    if (!written) return selectIt();
    written.then(() => (done.textContent = 'Copied.'), selectIt);
  });
  box.append(field, copy, done);
  return box;
}

function modelCard(name: string, o: ModelOutcome, answeredBy: string): HTMLElement {
  const card = el('article', '', o.status === 'ok' ? 'model' : 'model failed');
  card.dataset['model'] = name;
  const facts = el('dl');
  const fact = (term: string, value: string) => facts.append(el('dt', term), el('dd', value));
  fact('Status', o.status);
  fact('Latency', `${o.latencyMs} ms`);
  if (o.usage) fact('Tokens', `${o.usage.inputTokens} in, ${o.usage.outputTokens} out`);
  if (o.finishReason) fact('Finish', o.finishReason);
  if (o.code) fact('Error', `${o.code}: ${o.error ?? ''}`);
  card.append(
    el('h3', name === answeredBy ? `${name} (the answer)` : name),
    facts,
    el('p', o.text ?? '(no text)', 'model-text'),
  );
  return card;
}

function showAnswer(a: AskResponse, ms: number): void {
  answerText.textContent = a.answer;
  const failed = Object.entries(a.models).filter(([, o]) => o.status !== 'ok' && o.status !== 'skipped');
  const why = failed.length
    ? `${failed.map(([m, o]) => `${m} gave no answer (${o.code ?? o.status})`).join(', ')}; the answer is ${a.answeredBy}'s.`
    : 'the context store failed; answered without context.';
  answerStatus.textContent = a.degraded ? `Degraded: ${why}` : `Answered by ${a.answeredBy} in ${ms} ms.`;
  answerStatus.classList.toggle('degraded', a.degraded);
  const fusion = a.fusion;
  metaRows([
    ['Answered by', a.answeredBy],
    ['Strategy', a.strategy],
    ['Degraded', a.degraded ? 'yes' : 'no'],
    [
      'Context',
      a.context.source === 'none' ? `none (key ${a.context.key})` : `from ${a.context.source}, key ${a.context.key}`,
    ],
    ['Answer cache', a.cache],
    ...(fusion
      ? [
          [
            'Fusion',
            `${fusion.outcome} by ${fusion.by} from ${fusion.from.join(' and ')}${fusion.similarity !== undefined ? `, similarity ${fusion.similarity.toFixed(2)}` : ''}`,
          ] as [string, string],
        ]
      : []),
    ['Request id', requestIdControl(a.requestId)],
  ]);
  modelCards.replaceChildren(...Object.entries(a.models).map(([m, o]) => modelCard(m, o, a.answeredBy)));
}

async function showStream(input: AskInput, signal: AbortSignal, started: number): Promise<void> {
  const { requestId, chunks } = await streamChat(apiKey(), input, signal);
  modelCards.replaceChildren(
    el('p', 'A stream carries one model\'s answer: untick "Stream" to see every model side by side.', 'hint'),
  );
  const text = document.createTextNode('');
  answerText.replaceChildren(text);
  let model = '';
  let firstMs: number | undefined;
  let tokens = '';
  for await (const chunk of chunks) {
    model ||= chunk.model;
    const delta = chunk.choices[0]?.delta.content;
    if (delta) {
      firstMs ??= Math.round(performance.now() - started);
      text.appendData(delta);
    }
    if (chunk.usage) tokens = `${chunk.usage.prompt_tokens} in, ${chunk.usage.completion_tokens} out`;
  }
  const ms = Math.round(performance.now() - started);
  answerStatus.textContent = `Streamed by ${model} in ${ms} ms.`;
  metaRows([
    ['Answered by', model],
    ['Strategy', input.strategy],
    ['First token', firstMs === undefined ? 'none' : `${firstMs} ms`],
    ...(tokens ? [['Tokens', tokens] as [string, string]] : []),
    ...(requestId ? [['Request id', requestIdControl(requestId)] as [string, Node]] : []),
  ]);
}

/** Busy marks what is being replaced; the status line outside it stays live, so its news is read out. */
const setBusy = (busy: boolean) => {
  for (const node of [answerText, modelCards]) node.setAttribute('aria-busy', String(busy));
};

async function runAsk(): Promise<void> {
  running?.abort();
  const controller = new AbortController();
  running = controller;
  clearErrors(askForm, askAlert);
  const input = askInput();
  answerSection.hidden = false;
  setBusy(true);
  answerStatus.classList.remove('degraded');
  answerStatus.textContent = stream.checked ? 'Streaming…' : 'Asking…';
  answerText.textContent = '';
  answerMeta.replaceChildren();
  modelCards.replaceChildren();
  stopButton.disabled = false;
  const started = performance.now();
  try {
    if (stream.checked) await showStream(input, controller.signal, started);
    else showAnswer(await ask(apiKey(), input, controller.signal), Math.round(performance.now() - started));
  } catch (err) {
    if (running !== controller) return; // a newer question replaced this one
    answerStatus.textContent = controller.signal.aborted ? 'Stopped.' : 'No answer.';
    if (!controller.signal.aborted) showError(askForm, askAlert, notServedHere(err, 'ask'));
  } finally {
    if (running === controller) {
      running = undefined;
      if (document.activeElement === stopButton) byId('ask-submit', HTMLButtonElement).focus(); // a disabled button drops focus
      stopButton.disabled = true;
      setBusy(false);
    }
  }
}

askForm.addEventListener('submit', (event) => {
  event.preventDefault();
  void runAsk();
});
stopButton.addEventListener('click', () => running?.abort());

// Context (admin scope).

const contextButtons = [...contextForm.querySelectorAll('button')];
const deleteButton = byId('context-delete', HTMLButtonElement);
let contextBusy = false;

/** One context request at a time: the form's buttons are disabled meanwhile (no overlapping writes). */
async function onContext(action: (key: string) => Promise<string>): Promise<void> {
  if (contextBusy) return;
  disarmDelete();
  clearErrors(contextForm, contextAlert);
  contextStatus.textContent = '';
  const key = contextKey.value;
  if (key === '')
    return showError(
      contextForm,
      contextAlert,
      new ApiError(0, 'key_missing', 'enter a key first', undefined, [{ path: 'key', message: 'Enter a key.' }]),
    );
  const pressed = document.activeElement;
  contextBusy = true;
  for (const b of contextButtons) b.disabled = true;
  try {
    contextStatus.textContent = await action(key);
  } catch (err) {
    showError(contextForm, contextAlert, notServedHere(err, 'context'));
  } finally {
    contextBusy = false;
    for (const b of contextButtons) b.disabled = false;
    // Disabling the pressed button dropped its focus: give it back (a field error has moved focus on purpose).
    if (pressed instanceof HTMLElement && (document.activeElement === document.body || !document.activeElement))
      pressed.focus();
  }
}

contextForm.addEventListener('submit', (event) => {
  event.preventDefault();
  void onContext(async (key) => {
    const ttl = contextTtl.value.trim();
    await contexts.put(apiKey(), key, { text: contextText.value, ...(ttl ? { ttlSeconds: numberOrText(ttl) } : {}) });
    return `Saved "${key}": the next answer with this key uses it.`;
  });
});

byId('context-load', HTMLButtonElement).addEventListener('click', () =>
  onContext(async (key) => {
    try {
      const stored = await contexts.get(apiKey(), key);
      contextText.value = stored.text;
      return `Loaded "${key}" (${stored.text.length} characters).`;
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 404) || routeMissing(err)) throw err;
      contextText.value = '';
      return `Nothing is stored under "${key}".`;
    }
  }),
);

// Delete asks first, in the page: the pressed button turns into "Confirm delete" (focus stays on it,
// the status says so); pressing it again deletes, while leaving it or changing the key cancels.
let armedKey: string | undefined;
function disarmDelete(): void {
  if (armedKey !== undefined) contextStatus.textContent = '';
  armedKey = undefined;
  deleteButton.textContent = 'Delete';
}
deleteButton.addEventListener('click', () => {
  const key = contextKey.value;
  if (key === '' || armedKey === key) {
    void onContext(async (key) => {
      await contexts.remove(apiKey(), key);
      return `Deleted "${key}".`;
    });
    return;
  }
  clearErrors(contextForm, contextAlert);
  armedKey = key;
  deleteButton.textContent = 'Confirm delete';
  contextStatus.textContent = `Press "Confirm delete" to delete "${key}"; anything else cancels.`;
});
deleteButton.addEventListener('blur', disarmDelete);
contextKey.addEventListener('input', disarmDelete);
