/**
 * Checks one HTTP response against OpenAPI 3.1 documents: the status is
 * documented for the path and method, the content type is one of its media
 * types, required headers are there, and the body matches the schema (each
 * `data:` event of a text/event-stream against its `x-sse-data-schema`).
 * Objects are closed while checking: a field the document does not name is
 * a violation, so the document cannot silently fall behind the services.
 */
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';

type Schema = Record<string, unknown>;
interface Media {
  schema?: Schema;
  'x-sse-data-schema'?: Schema;
}
interface ResponseDoc {
  headers?: Record<string, { $ref?: string; required?: boolean }>;
  content?: Record<string, Media>;
}
interface Operation {
  responses: Record<string, ResponseDoc>;
}
export interface OpenApiDoc {
  paths: Record<string, Record<string, Operation>>;
  components?: { schemas?: Record<string, Schema>; headers?: Record<string, { required?: boolean }> };
}

export interface ObservedResponse {
  method: string;
  url: string;
  status: number;
  headers: Headers;
  body: string;
}

const COMPONENTS = 'components.json';
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** '#/components/schemas/X' → 'components.json#/$defs/X'; objects without an additionalProperties rule get `false`. */
export function ajvSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(ajvSchema);
  if (!schema || typeof schema !== 'object') return schema;
  const out: Schema = Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, ajvSchema(v)]));
  if (typeof out['$ref'] === 'string')
    out['$ref'] = out['$ref'].replace('#/components/schemas/', `${COMPONENTS}#/$defs/`);
  const open = 'additionalProperties' in out || 'unevaluatedProperties' in out || 'patternProperties' in out;
  if (out['properties'] && !open) out['additionalProperties'] = false;
  return out;
}

/** A Server-Sent Events body as its events' `data` (comments and other fields dropped). */
export function sseData(body: string): string[] {
  return body
    .split(/\r?\n\r?\n/)
    .map((event) =>
      event
        .split(/\r?\n/)
        .filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).replace(/^ /, ''))
        .join('\n'),
    )
    .filter((data) => data !== '');
}

/** A checker for `docs` (e.g. the public and the admin document of one service): returns the violations of one response. */
export function responseValidator(docs: OpenApiDoc[]): (r: ObservedResponse) => string[] {
  const compiled = docs.map((doc) => {
    const ajv = new Ajv2020({ allErrors: true, strict: true });
    addFormats(ajv);
    ajv.addSchema({ $defs: ajvSchema(doc.components?.schemas ?? {}) }, COMPONENTS);
    const paths = Object.keys(doc.paths).map((template) => ({
      template,
      pattern: new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`),
    }));
    const cache = new Map<Schema, ValidateFunction>();
    const validate = (schema: Schema) => {
      if (!cache.has(schema)) cache.set(schema, ajv.compile(ajvSchema(schema) as Schema));
      return cache.get(schema)!;
    };
    return { doc, paths, validate };
  });
  const problem = { $ref: '#/components/schemas/Problem' };

  return (r) => {
    const { pathname } = new URL(r.url);
    const method = r.method.toLowerCase();
    const where = `${r.method.toUpperCase()} ${pathname} → ${r.status}`;
    const found = compiled.flatMap((c) =>
      c.paths.filter((p) => p.pattern.test(pathname)).map((p) => ({ ...c, item: c.doc.paths[p.template]! })),
    )[0];
    const first = compiled[0]!;
    // An unknown path is a 404 problem; a method the path lacks a 405 (with Allow) in the error shape of its route.
    if (!found)
      return r.status === 404
        ? checkBody(where, r, { 'application/problem+json': { schema: problem } }, first.validate)
        : [`${where}: no documented path matches`];
    const operation = METHODS.includes(method) ? found.item[method] : undefined;
    if (!operation) {
      if (r.status !== 405) return [`${where}: ${r.method} is not documented for this path`];
      const errorContent = Object.values(found.item).flatMap((op) =>
        Object.entries(op.responses)
          .filter(([s]) => s.startsWith('4'))
          .map(([, res]) => res.content),
      )[0];
      return [
        ...(r.headers.has('allow') ? [] : [`${where}: 405 without Allow`]),
        ...checkBody(where, r, errorContent, found.validate),
      ];
    }
    const documented =
      operation.responses[String(r.status)] ??
      operation.responses[`${String(r.status)[0]}XX`] ??
      operation.responses['default'];
    if (!documented)
      return [`${where}: status not documented (documented: ${Object.keys(operation.responses).join(', ')})`];
    const missing = Object.entries(documented.headers ?? {})
      .filter(
        ([name, h]) =>
          (h.required ?? found.doc.components?.headers?.[h.$ref?.split('/').pop() ?? '']?.required) &&
          !r.headers.has(name),
      )
      .map(([name]) => `${where}: required header ${name} missing`);
    return [...missing, ...checkBody(where, r, documented.content, found.validate)];
  };
}

function checkBody(
  where: string,
  r: ObservedResponse,
  content: Record<string, Media> | undefined,
  validate: (s: Schema) => ValidateFunction,
): string[] {
  const type = (r.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (!content) return r.body === '' ? [] : [`${where}: a body (${type}) where none is documented`];
  const media = content[type];
  if (!media)
    return [`${where}: content type "${type}" not documented (documented: ${Object.keys(content).join(', ')})`];
  if (r.method.toUpperCase() === 'HEAD') return [];
  const against = (schema: Schema | undefined, text: string, what: string): string[] => {
    if (!schema) return [];
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return [`${where}: ${what} is not JSON: ${text.slice(0, 200)}`];
    }
    const check = validate(schema);
    return check(value)
      ? []
      : [
          `${where}: ${what} does not match the schema: ${(check.errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message}${e.params && 'additionalProperty' in e.params ? ` "${String(e.params['additionalProperty'])}"` : ''}`).join('; ')}\n  body: ${text.slice(0, 500)}`,
        ];
  };
  if (type !== 'text/event-stream') return against(media.schema, r.body, 'body');
  // A stream ends with [DONE] or with an error event, never just stops.
  const events = sseData(r.body);
  const isError = (data: string) => /^\{\s*"error"\s*:\s*\{/.test(data);
  const end = events.at(-1);
  return [
    ...(end === '[DONE]' || (end !== undefined && isError(end))
      ? []
      : [`${where}: the stream ended without [DONE] or an error event`]),
    ...events.flatMap((data, i) => {
      if (i < events.length - 1 && (data === '[DONE]' || isError(data)))
        return [`${where}: events after ${data === '[DONE]' ? '[DONE]' : 'an error event'}`];
      return data === '[DONE]' ? [] : against(media['x-sse-data-schema'], data, `event ${i}`);
    }),
  ];
}
