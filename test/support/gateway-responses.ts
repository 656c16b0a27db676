/**
 * Jest setup (every test file): each response a test's fetch gets from a
 * gateway that a Stack started (the openai client's calls included) is
 * checked against the committed OpenAPI documents, docs/openapi.json and
 * docs/openapi-admin.json; a violation fails the test it happened in
 * (afterEach) or the file (afterAll, for hooks). Streams are checked once
 * the test has read them to their end; a stream it aborted is not.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gatewayUrls } from '@context-qa/testkit/gateway-urls';
import { responseValidator, sseData, type ObservedResponse, type OpenApiDoc } from './openapi-validator';

const DOCS = ['docs/openapi.json', 'docs/openapi-admin.json'];
const NULL_BODY = new Set([101, 204, 205, 304]);

let check: ((r: ObservedResponse) => string[]) | undefined;
const validator = () =>
  (check ??= responseValidator(
    DOCS.map((f) => JSON.parse(readFileSync(path.join(__dirname, '../..', f), 'utf8')) as OpenApiDoc),
  ));

const violations: string[] = [];
const record = (r: Omit<ObservedResponse, 'body'>, body: Uint8Array[]) => {
  violations.push(...validator()({ ...r, body: Buffer.concat(body).toString('utf8') }));
};

/** The response as the test would have had it, its body now `body`. */
function withBody(res: Response, body: ConstructorParameters<typeof Response>[0]): Response {
  const copy = new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
  Object.defineProperty(copy, 'url', { value: res.url });
  return copy;
}

/** The events of a stream the test stopped reading once it had its last event ([DONE] or an error: the OpenAI SDK does so); else undefined. */
function endedEvents(chunks: Uint8Array[]): Uint8Array[] | undefined {
  const text = Buffer.concat(chunks).toString('utf8');
  const whole = text.slice(0, text.lastIndexOf('\n\n') + 2);
  const last = sseData(whole).at(-1);
  return last === '[DONE]' || last?.startsWith('{"error"') ? [Buffer.from(whole)] : undefined;
}

/**
 * Passes a stream on as the test reads it (no read-ahead: time to first byte
 * and cancellation are the test's own); `onEnd` gets it once read to its end,
 * or to its last event. A stream cut off before that is not checked.
 */
function observed(res: Response, onEnd: (chunks: Uint8Array[]) => void): Response {
  const reader = res.body!.getReader() as ReadableStreamDefaultReader<Uint8Array>;
  const chunks: Uint8Array[] = [];
  let ended = false; // an abort can both fail a read and cancel: check once
  const end = (whole: Uint8Array[] | undefined) => {
    if (whole && !ended) onEnd(whole);
    ended = true;
  };
  const stopped = () => end(endedEvents(chunks));
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (done) {
            controller.close();
            end(chunks);
          } else {
            chunks.push(value);
            controller.enqueue(value);
          }
        } catch (err) {
          controller.error(err);
          stopped();
        }
      },
      cancel: (reason) => {
        stopped();
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
  return withBody(res, body);
}

const realFetch = globalThis.fetch;
globalThis.fetch = async (input: string | URL | Request, init?: RequestInit) => {
  const res = await realFetch(input, init);
  const url = input instanceof Request ? input.url : String(input);
  if (!gatewayUrls.has(new URL(url).origin)) return res;
  const seen = {
    method: init?.method ?? (input instanceof Request ? input.method : 'GET'),
    url,
    status: res.status,
    headers: res.headers,
  };
  if (!res.body || NULL_BODY.has(res.status)) {
    record(seen, []);
    return res;
  }
  if ((res.headers.get('content-type') ?? '').startsWith('text/event-stream'))
    return observed(res, (chunks) => record(seen, chunks));
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await res.arrayBuffer());
  } catch (err) {
    return withBody(res, new ReadableStream({ start: (c) => c.error(err) })); // the test sees the failure where it would have
  }
  record(seen, [bytes]);
  return withBody(res, bytes);
};

/** The violations recorded so far, which then no longer fail the test (for the hook's own test). */
export const takeViolations = () => violations.splice(0);

const failIfViolated = () => {
  const found = takeViolations();
  if (!found.length) return;
  throw new Error(
    `responses that do not match the OpenAPI document (fix the service, or the schemas and then \`make openapi\`):\n${found.join('\n')}`,
  );
};
afterEach(failIfViolated);
afterAll(failIfViolated);
