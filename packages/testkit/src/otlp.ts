/**
 * A minimal OTLP/HTTP traces receiver (POST /v1/traces, protobuf) on loopback:
 * tests and the bench point the services and the sidecars at it instead of a
 * collector or Jaeger, and read back the spans they exported.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import protobuf from 'protobufjs';

// The subset of opentelemetry-proto (trace/v1, common/v1, resource/v1) a span tree needs; field numbers as upstream.
const PROTO = `
syntax = "proto3";
message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
message Resource { repeated KeyValue attributes = 1; }
message ScopeSpans { Scope scope = 1; repeated Span spans = 2; }
message Scope { string name = 1; string version = 2; }
message Span {
  bytes trace_id = 1; bytes span_id = 2; bytes parent_span_id = 4; string name = 5; int32 kind = 6;
  fixed64 start_time_unix_nano = 7; fixed64 end_time_unix_nano = 8;
  repeated KeyValue attributes = 9; repeated Event events = 11; Status status = 15;
}
message Event { fixed64 time_unix_nano = 1; string name = 2; repeated KeyValue attributes = 3; }
message Status { string message = 2; int32 code = 3; }
message KeyValue { string key = 1; AnyValue value = 2; }
message AnyValue {
  oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4; ArrayValue array_value = 5; }
}
message ArrayValue { repeated AnyValue values = 1; }
`;
const Request = protobuf.parse(PROTO, { keepCase: true }).root.lookupType('ExportTraceServiceRequest');

/** SpanKind as OTLP numbers it. */
export const SPAN_KIND = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 } as const;

export type AttributeValue = string | number | boolean | AttributeValue[];

export interface ReceivedSpan {
  service: string;
  scope: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Record<string, AttributeValue>;
  events: { name: string; attributes: Record<string, AttributeValue> }[];
  /** 0 unset, 1 ok, 2 error. */
  status: number;
  statusMessage: string;
  startNs: bigint;
  durationMs: number;
}

interface KeyValue {
  key: string;
  value?: Record<string, unknown>;
}

function value(v: Record<string, unknown> | undefined): AttributeValue {
  if (!v) return '';
  if ('array_value' in v) return ((v['array_value'] as { values?: Record<string, unknown>[] }).values ?? []).map(value);
  if ('int_value' in v) return Number(v['int_value']); // int64, decoded as a string
  const [only] = Object.values(v);
  return only as AttributeValue;
}

const attrs = (list: KeyValue[] | undefined) => Object.fromEntries((list ?? []).map((kv) => [kv.key, value(kv.value)]));
const hex = (b: Uint8Array | undefined) => Buffer.from(b ?? []).toString('hex');

/** The decoded message as `toObject` gives it (snake_case as in the .proto; fixed64 as strings). */
interface WireSpan {
  trace_id?: Uint8Array;
  span_id?: Uint8Array;
  parent_span_id?: Uint8Array;
  name?: string;
  kind?: number;
  start_time_unix_nano?: string;
  end_time_unix_nano?: string;
  attributes?: KeyValue[];
  events?: { name: string; attributes?: KeyValue[] }[];
  status?: { code?: number; message?: string };
}
interface WireRequest {
  resource_spans?: {
    resource?: { attributes?: KeyValue[] };
    scope_spans?: { scope?: { name?: string }; spans?: WireSpan[] }[];
  }[];
}

/** Decodes one export request into flat spans. */
export function decodeTraces(body: Buffer): ReceivedSpan[] {
  const req = Request.toObject(Request.decode(body), { longs: String, defaults: false }) as WireRequest;
  const out: ReceivedSpan[] = [];
  for (const rs of req.resource_spans ?? []) {
    const service = String(attrs(rs.resource?.attributes)['service.name'] ?? '');
    for (const ss of rs.scope_spans ?? []) {
      for (const s of ss.spans ?? []) {
        const parent = hex(s.parent_span_id);
        const start = BigInt(s.start_time_unix_nano ?? 0);
        out.push({
          service,
          scope: ss.scope?.name ?? '',
          traceId: hex(s.trace_id),
          spanId: hex(s.span_id),
          ...(parent ? { parentSpanId: parent } : {}),
          name: s.name ?? '',
          kind: s.kind ?? 0,
          attributes: attrs(s.attributes),
          events: (s.events ?? []).map((e) => ({ name: e.name, attributes: attrs(e.attributes) })),
          status: s.status?.code ?? 0,
          statusMessage: s.status?.message ?? '',
          startNs: start,
          durationMs: Number(BigInt(s.end_time_unix_nano ?? 0) - start) / 1e6,
        });
      }
    }
  }
  return out;
}

export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  /** Export requests that could not be decoded (a test should expect none). */
  failures = 0;
  /** Export requests and their bytes received so far. */
  exports = 0;
  bytes = 0;
  private readonly server = http.createServer((req, res) => this.handle(req, res));

  private constructor(private readonly keep: boolean) {}

  /** Listens on a free loopback port; `keep: false` only counts exports and bytes, decoding nothing (the bench). */
  static async start(opts: { keep?: boolean } = {}): Promise<OtlpReceiver> {
    const receiver = new OtlpReceiver(opts.keep ?? true);
    await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/traces') return void res.writeHead(404).end();
      const raw = Buffer.concat(chunks);
      this.exports++;
      this.bytes += raw.length;
      try {
        if (this.keep)
          this.spans.push(...decodeTraces(req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw));
        res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      } catch {
        this.failures++;
        res.writeHead(400).end();
      }
    });
  }

  /** Base URL for OTEL_EXPORTER_OTLP_ENDPOINT. */
  get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  trace(traceId: string): ReceivedSpan[] {
    return this.spans.filter((s) => s.traceId === traceId);
  }

  /** Polls until `done` holds for the spans received so far, or fails after `timeoutMs`. */
  async waitFor(done: (spans: ReceivedSpan[]) => boolean, timeoutMs = 20_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!done(this.spans)) {
      if (Date.now() > until)
        throw new Error(`spans did not arrive within ${timeoutMs} ms (${this.spans.length} received)`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** One line per span, indented under its parent: `service  name  [kind]` (spans whose parent is missing are roots). */
export function spanTree(spans: ReceivedSpan[]): string {
  const ids = new Set(spans.map((s) => s.spanId));
  const children = new Map<string, ReceivedSpan[]>();
  for (const s of spans) {
    const parent = s.parentSpanId && ids.has(s.parentSpanId) ? s.parentSpanId : '';
    children.set(parent, [...(children.get(parent) ?? []), s]);
  }
  const kind = (k: number) => Object.entries(SPAN_KIND).find(([, v]) => v === k)?.[0] ?? 'unset';
  const lines: string[] = [];
  const walk = (parent: string, depth: number) => {
    for (const s of (children.get(parent) ?? []).sort((a, b) => (a.startNs < b.startNs ? -1 : 1))) {
      lines.push(`${'  '.repeat(depth)}${s.service}  ${s.name}  [${kind(s.kind)}]`);
      walk(s.spanId, depth + 1);
    }
  };
  walk('', 0);
  return lines.join('\n');
}
