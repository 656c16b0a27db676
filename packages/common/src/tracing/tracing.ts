/**
 * OpenTelemetry tracing for a service: the official Node SDK with the HTTP,
 * Express and undici (fetch) instrumentations, exporting OTLP to the endpoint
 * in the standard OTEL_* variables. Off (no SDK loaded, no overhead) unless an
 * endpoint is set.
 *
 * The instrumentations patch `http` and `express` when those are first loaded,
 * so this module imports neither (nor anything of ours that does): each
 * service's `instrument.ts` starts it before main loads the app.
 */
import type { TextMapPropagator } from '@opentelemetry/api';
import { z } from 'zod';
import { env, loadConfig } from '../config';
import { REDACTED_QUERY, spanPath, spanPathAndQuery, spanUrl, spanUrlOfRequest } from './span-urls';

export const tracingConfigSchema = z.object({
  OTEL_EXPORTER_OTLP_ENDPOINT: z
    .url({ protocol: /^https?$/ })
    .optional()
    .describe(
      'OTLP collector base URL (http://host:4318; :4317 with OTEL_EXPORTER_OTLP_PROTOCOL=grpc); tracing is off unless this (or the traces endpoint) is set',
    ),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z
    .url({ protocol: /^https?$/ })
    .optional()
    .describe('full OTLP/HTTP traces URL, when not <OTEL_EXPORTER_OTLP_ENDPOINT>/v1/traces'),
  OTEL_SDK_DISABLED: env.bool(false).describe('turns tracing off even with an endpoint set'),
  OTEL_SERVICE_NAME: z.string().min(1).optional().describe("service.name of the spans; default the service's name"),
});

export type TracingConfig = z.infer<typeof tracingConfigSchema>;

export const tracingEnabled = (c: TracingConfig): boolean =>
  !c.OTEL_SDK_DISABLED &&
  (c.OTEL_EXPORTER_OTLP_ENDPOINT !== undefined || c.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT !== undefined);

/** Probes and scrapes would flood the traces and say nothing about answers. */
const UNTRACED_PATHS = new Set(['/healthz', '/readyz', '/metrics']);
/** Spans still buffered at shutdown get this long to leave (the pod's grace period is finite). */
const FLUSH_MS = 3000;

export interface TracingOptions {
  /**
   * The public edge: a caller's traceparent is not continued (any client could
   * force sampling and pick trace ids); every request starts a trace of its own.
   * Outgoing calls still carry ours.
   */
  edge?: boolean;
}

export interface Tracing {
  /** Flushes the spans still buffered; call last at shutdown. */
  shutdown(): Promise<void>;
}

/**
 * Starts the SDK when configured. Everything else (sampler, protocol, batch
 * delay, resource attributes) follows the SDK's own OTEL_* variables.
 */
export function startTracing(
  service: string,
  opts: TracingOptions = {},
  environment: NodeJS.ProcessEnv = process.env,
): Tracing | undefined {
  const config = loadConfig(tracingConfigSchema, environment);
  if (!tracingEnabled(config)) return undefined;
  // Loaded only when on: the SDK and its exporters are heavy to require.
  /* eslint-disable @typescript-eslint/no-require-imports -- lazy on purpose, see above */
  const { NodeSDK } = require('@opentelemetry/sdk-node') as typeof import('@opentelemetry/sdk-node');
  const { HttpInstrumentation } =
    require('@opentelemetry/instrumentation-http') as typeof import('@opentelemetry/instrumentation-http');
  const { ExpressInstrumentation, ExpressLayerType } =
    require('@opentelemetry/instrumentation-express') as typeof import('@opentelemetry/instrumentation-express');
  const { UndiciInstrumentation } =
    require('@opentelemetry/instrumentation-undici') as typeof import('@opentelemetry/instrumentation-undici');
  const { W3CTraceContextPropagator } = require('@opentelemetry/core') as typeof import('@opentelemetry/core');
  /* eslint-enable @typescript-eslint/no-require-imports */
  const sdk = new NodeSDK({
    serviceName: config.OTEL_SERVICE_NAME ?? service,
    textMapPropagator: opts.edge ? injectOnly(new W3CTraceContextPropagator()) : new W3CTraceContextPropagator(),
    instrumentations: [
      // Outgoing calls only as part of a request: readiness checks and background
      // write-backs would each start a trace of their own.
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (req) => UNTRACED_PATHS.has((req.url ?? '').split('?')[0]!),
        requireParentforOutgoingSpans: true,
        // URLs in spans show route patterns: no prompt (the sketch route's query), no context key (span-urls.ts).
        redactedQueryParamsServer: REDACTED_QUERY,
        startIncomingSpanHook: (req) => ({ 'url.path': spanPath((req.url ?? '/').split('?')[0]!) }),
        startOutgoingSpanHook: (options) => ({ 'url.full': spanUrlOfRequest(options) }),
      }),
      // The route handler's span only: one span per middleware would bury the useful ones.
      new ExpressInstrumentation({ ignoreLayersType: [ExpressLayerType.MIDDLEWARE, ExpressLayerType.ROUTER] }),
      new UndiciInstrumentation({
        requireParentforSpans: true,
        startSpanHook: (req) => {
          const safe = spanPathAndQuery(req.path);
          const at = safe.indexOf('?');
          return {
            'url.full': spanUrl(req.origin + req.path),
            'url.path': at === -1 ? safe : safe.slice(0, at),
            'url.query': at === -1 ? '' : safe.slice(at),
          };
        },
      }),
    ],
    // Metrics stay with prom-client (/metrics) and logs with pino (stdout): traces only here.
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  // Spans that cannot be flushed in time (collector gone or slow) are lost; that is no failed shutdown.
  return {
    shutdown: () =>
      Promise.race([sdk.shutdown().catch(() => undefined), new Promise<void>((r) => setTimeout(r, FLUSH_MS).unref())]),
  };
}

/** Passes our context on to the calls we make, and takes none from callers. */
function injectOnly(inner: TextMapPropagator): TextMapPropagator {
  return {
    inject: (ctx, carrier, setter) => inner.inject(ctx, carrier, setter),
    extract: (ctx) => ctx,
    fields: () => inner.fields(),
  };
}

/**
 * For a service's `instrument.ts`: starts tracing or stops the process naming
 * the bad variable, as runService does for the rest of the config.
 */
export function instrument(service: string, opts: TracingOptions = {}): Tracing | undefined {
  try {
    return startTracing(service, opts);
  } catch (err) {
    console.error(`${service}: ${(err as Error).message}`);
    process.exit(1);
  }
}
