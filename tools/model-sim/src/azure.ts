/**
 * Azure OpenAI chat completions: the deployment route
 * (/openai/deployments/{d}/chat/completions?api-version=…) and the v1 route
 * (/openai/v1/chat/completions, deployment in `model`), plain and SSE streaming.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { answer, chunks } from './answer';
import type { Counters } from './counters';
import { ERROR_KINDS, type ErrorSpec, type FaultRegistry } from './faults';
import { BodyError, readJson, sendJson } from './http-util';
import { modelCall, paced } from './model-call';

export const AZURE_DEPLOYMENT_ROUTE = /^\/openai\/deployments\/([^/]+)\/chat\/completions$/;
export const AZURE_V1_ROUTE = /^\/openai\/v1\/chat\/completions$/;

/** GA and preview data-plane versions that serve chat completions. */
export const API_VERSIONS = new Set([
  '2024-02-01',
  '2024-06-01',
  '2024-10-21',
  '2025-04-01-preview',
  '2024-12-01-preview',
  '2025-01-01-preview',
  '2025-03-01-preview',
]);

function sendAzureError(res: ServerResponse, status: number, code: string, message: string): void {
  // 429s carry Retry-After like the real service (and the SDK honours it).
  sendJson(res, status, { error: { code, message } }, status === 429 ? { 'retry-after': '1' } : {});
}

const faultError = (res: ServerResponse) => (spec: ErrorSpec) =>
  sendAzureError(res, spec.status === 403 ? 401 : spec.status, spec.azure, spec.message);

export async function handleAzure(
  deps: { faults: FaultRegistry; counters: Counters; deployments: Set<string> },
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  pathDeployment: string | undefined,
): Promise<void> {
  if (pathDeployment !== undefined) {
    const version = url.searchParams.get('api-version');
    // Real Azure: no api-version is "Resource not found"; an unknown one is a 400.
    if (!version) return sendAzureError(res, 404, '404', 'Resource not found');
    if (!API_VERSIONS.has(version)) return sendAzureError(res, 400, 'BadRequest', 'API version not supported');
  }
  const key = req.headers['api-key'];
  const bearer = /^Bearer \S+/.test(req.headers['authorization'] ?? '');
  if (!(typeof key === 'string' && key !== '') && !bearer) {
    return sendAzureError(
      res,
      401,
      '401',
      'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.',
    );
  }
  let body: Record<string, unknown>;
  try {
    body = ((await readJson(req)) ?? {}) as Record<string, unknown>;
  } catch (err) {
    return sendAzureError(res, 400, 'BadRequest', (err as BodyError).message);
  }
  const deployment = pathDeployment !== undefined ? decodeURIComponent(pathDeployment) : body['model'];
  if (typeof deployment !== 'string' || !deps.deployments.has(deployment)) {
    return sendAzureError(
      res,
      404,
      'DeploymentNotFound',
      'The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.',
    );
  }
  const problem = validate(body);
  if (problem) return sendAzureError(res, 400, 'BadRequest', problem);

  const messages = body['messages'] as { role: string; content: unknown }[];
  const text = messages.map((m) => contentText(m.content)).join('\n');
  const user = contentText(messages.filter((m) => m.role === 'user').at(-1)?.content);
  const maxTokens = (body['max_completion_tokens'] ?? body['max_tokens']) as number | undefined; // validated above
  const op = body['stream'] ? 'chat-stream' : 'chat';
  await modelCall(deps, res, op, deployment, text, faultError(res), async (ctx) => {
    const a = answer(deployment, text, maxTokens, user);
    const id = `chatcmpl-${randomUUID()}`;
    const created = Math.floor(Date.now() / 1000);
    const usage = {
      prompt_tokens: a.inputTokens,
      completion_tokens: a.outputTokens,
      total_tokens: a.inputTokens + a.outputTokens,
    };
    const finish = a.truncated ? 'length' : 'stop';
    if (!body['stream']) {
      return sendJson(res, 200, {
        id,
        object: 'chat.completion',
        created,
        model: deployment,
        choices: [{ index: 0, finish_reason: finish, message: { role: 'assistant', content: a.text, refusal: null } }],
        usage,
      });
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const send = (data: unknown) => res.write(`data: ${JSON.stringify(data)}\n\n`);
    const chunk = (delta: Record<string, unknown>, finish_reason: string | null = null) =>
      send({
        id,
        object: 'chat.completion.chunk',
        created,
        model: deployment,
        choices: [{ index: 0, delta, finish_reason }],
      });
    // Azure opens with a content-filter results chunk that has no choices/delta.
    send({
      id: '',
      object: '',
      created: 0,
      model: '',
      choices: [],
      prompt_filter_results: [{ prompt_index: 0, content_filter_results: {} }],
    });
    chunk({ role: 'assistant', content: '' });
    const ok = await paced(
      ctx,
      res,
      chunks(a.text),
      (t) => chunk({ content: t }),
      () =>
        res.end(
          `data: ${JSON.stringify({ error: { code: 'InternalServerError', message: 'The stream failed part-way (simulated).' } })}\n\n`,
        ),
    );
    if (!ok) return;
    chunk({}, finish);
    if ((body['stream_options'] as { include_usage?: unknown } | undefined)?.include_usage)
      send({ id, object: 'chat.completion.chunk', created, model: deployment, choices: [], usage });
    res.end('data: [DONE]\n\n');
  });
}

function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content))
    return content.map((p: { text?: unknown } | null) => (typeof p?.text === 'string' ? p.text : '')).join('\n');
  return '';
}

function validate(body: Record<string, unknown>): string | undefined {
  const messages = body['messages'];
  if (!Array.isArray(messages) || messages.length === 0)
    return "'messages' is a required property and must be a non-empty array";
  for (const [i, m] of (messages as ({ role?: unknown; content?: unknown } | null)[]).entries()) {
    if (!['system', 'user', 'assistant', 'developer', 'tool'].includes(m?.role as string))
      return `Invalid value for 'messages[${i}].role'`;
    if (m!.content === undefined) return `Missing required parameter: 'messages[${i}].content'`;
  }
  for (const k of ['max_tokens', 'max_completion_tokens']) {
    const v = body[k];
    if (v !== undefined && !(typeof v === 'number' && Number.isInteger(v) && v >= 1))
      return `Invalid '${k}': integer below minimum value 1`;
  }
  const temperature = body['temperature'];
  if (temperature !== undefined && !(typeof temperature === 'number' && temperature >= 0 && temperature <= 2)) {
    return "Invalid 'temperature': must be a number from 0 to 2";
  }
  const topP = body['top_p'];
  if (topP !== undefined && !(typeof topP === 'number' && topP >= 0 && topP <= 1))
    return "Invalid 'top_p': must be a number from 0 to 1";
  const stop = body['stop'];
  if (Array.isArray(stop) && stop.length > 4)
    return `Invalid 'stop': array too long. Expected an array with maximum length 4, but got an array with length ${stop.length} instead.`;
  return undefined;
}

export { ERROR_KINDS };
