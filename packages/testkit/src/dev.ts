/**
 * `make dev`: the whole system in the foreground on fixed loopback ports —
 * Redis, dynalite (with the context table), both services with their real
 * daprd sidecars. Ctrl-C (or SIGTERM) stops every process it started.
 * TRACING=1 also runs Jaeger (third_party/jaeger) and exports every trace to it.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { env, loadConfig } from '@context-qa/common/config';
import { daprBin, repoRoot } from './paths';
import { freePort, httpOk } from './ports';
import { ManagedProcess } from './process';
import { Stack } from './stack';
import { controlPlaneListeners } from './sentry';
import { DEV_KEYS } from './dev-keys';
import { serviceApps, simulatedClouds, type ServicePorts } from './services';

const schema = z.object({
  CONTEXT_QA_COMPONENTS: z.enum(['local', 'memory']).default('local').describe('components/<set> the sidecars load'),
  GATEWAY_PORT: env.port(8080),
  GATEWAY_METRICS_PORT: env.port(9464),
  AI_CORE_PORT: env.port(8081),
  AI_CORE_METRICS_PORT: env.port(9465),
  GATEWAY_DAPR_HTTP_PORT: env.port(3500),
  AI_CORE_DAPR_HTTP_PORT: env.port(3501),
  REDIS_PORT: env.port(6379),
  DYNALITE_PORT: env.port(4567),
  SIM_PORT: env.port(4010).describe('model simulator (Bedrock + Azure OpenAI)'),
  DEV_LAUNCHER: z
    .enum(['harness', 'dapr-cli'])
    .default('harness')
    .describe('who starts sidecars and apps: this script, or `dapr run -f dapr/dapr.yaml`'),
  TRACING: env
    .bool(false)
    .describe(
      "also run Jaeger (third_party/jaeger, built on first use) and send the services' and sidecars' traces to it",
    ),
  JAEGER_UI_PORT: env.port(16686).describe('Jaeger UI and query API'),
  JAEGER_OTLP_HTTP_PORT: env.port(4318),
  JAEGER_OTLP_GRPC_PORT: env.port(4317),
  JAEGER_QUERY_GRPC_PORT: env.port(16685),
  JAEGER_HEALTH_PORT: env.port(13133),
  JAEGER_UI_ASSETS: z
    .string()
    .default(path.join(repoRoot, 'third_party', 'jaeger', 'ui'))
    .describe('UI files Jaeger serves: a minimal viewer, or a built jaeger-ui'),
});
type DevConfig = z.infer<typeof schema>;

async function main(): Promise<void> {
  const cfg = loadConfig(schema);
  const dir = path.join(repoRoot, '.run');
  mkdirSync(dir, { recursive: true });
  const ports: ServicePorts = {
    gateway: { app: cfg.GATEWAY_PORT, metrics: cfg.GATEWAY_METRICS_PORT, daprHttp: cfg.GATEWAY_DAPR_HTTP_PORT },
    aiCore: { app: cfg.AI_CORE_PORT, metrics: cfg.AI_CORE_METRICS_PORT, daprHttp: cfg.AI_CORE_DAPR_HTTP_PORT },
  };
  const stack = new Stack({
    components: cfg.CONTEXT_QA_COMPONENTS,
    dir,
    persistDynamo: true,
    simulatorPort: cfg.SIM_PORT,
    ports: { redis: cfg.REDIS_PORT, dynalite: cfg.DYNALITE_PORT },
    apps: cfg.DEV_LAUNCHER === 'harness' ? serviceApps({ ports, answerCache: true }) : [],
    ...(cfg.TRACING ? { tracing: { otlpEndpoint: `http://127.0.0.1:${cfg.JAEGER_OTLP_HTTP_PORT}` } } : {}),
  });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    console.log('\nstopping…');
    await stack.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  // Jaeger first, so the first spans have somewhere to go; added first, so stopped last.
  if (cfg.TRACING) await stack.add('jaeger', jaegerProcess(cfg, stack.logDir)).start();
  await stack.start();
  if (cfg.DEV_LAUNCHER === 'dapr-cli') await startWithDaprCli(stack, cfg.GATEWAY_PORT);
  const rows = [
    [
      'gateway-service',
      `http://127.0.0.1:${cfg.GATEWAY_PORT}`,
      `metrics :${cfg.GATEWAY_METRICS_PORT}`,
      `sidecar :${cfg.GATEWAY_DAPR_HTTP_PORT}`,
    ],
    [
      'ai-core-service',
      `http://127.0.0.1:${cfg.AI_CORE_PORT}`,
      `metrics :${cfg.AI_CORE_METRICS_PORT}`,
      `sidecar :${cfg.AI_CORE_DAPR_HTTP_PORT}`,
    ],
    ...(stack.components === 'local'
      ? [
          ['redis', `127.0.0.1:${stack.redisPort}`],
          ['dynalite', `http://127.0.0.1:${stack.dynamoPort}`],
        ]
      : []),
    ['model simulator', stack.simulatorUrl, '(admin API under /admin)'],
    ...(cfg.TRACING
      ? [
          [
            'jaeger',
            `http://127.0.0.1:${cfg.JAEGER_UI_PORT}`,
            `OTLP http :${cfg.JAEGER_OTLP_HTTP_PORT} grpc :${cfg.JAEGER_OTLP_GRPC_PORT}`,
            '(in memory)',
          ],
        ]
      : []),
  ];
  console.log(`context-qa is up (components/${stack.components}); logs in ${stack.logDir}`);
  for (const r of rows) console.log(`  ${r[0]!.padEnd(16)} ${r.slice(1).join('  ')}`);
  console.log(`API keys (local only): ask ${DEV_KEYS.ask}  admin ${DEV_KEYS.admin}`);
  console.log(`Try: curl -s localhost:${cfg.GATEWAY_PORT}/v1/prompt -H 'authorization: Bearer ${DEV_KEYS.ask}' \\
       -H 'content-type: application/json' -d '{"prompt":"What is Dapr?"}'`);
  if (cfg.TRACING)
    console.log(
      `Traces: http://127.0.0.1:${cfg.JAEGER_UI_PORT}/search?service=gateway-service&tags={"context_qa.request_id":"<x-request-id>"}`,
    );
  console.log(`Playground: http://127.0.0.1:${cfg.GATEWAY_PORT}/playground (paste a key above)`);
  console.log('Ctrl-C stops everything.');
}

/** The Dapr CLI path: placement (CLI 1.12 always wires daprd to one) plus `dapr run -f dapr/dapr.yaml`. */
async function startWithDaprCli(stack: Stack, gatewayPort: number): Promise<void> {
  const placementPort = 50005; // where CLI 1.12 points every daprd
  const healthz = await freePort();
  await stack
    .add(
      'placement',
      new ManagedProcess({
        name: 'placement',
        command: daprBin('placement'),
        args: await controlPlaneListeners(placementPort, healthz),
        logFile: path.join(stack.logDir, 'placement.log'),
        ready: () => httpOk(`http://127.0.0.1:${healthz}/healthz`),
      }),
    )
    .start();
  await stack
    .add(
      'dapr-run',
      new ManagedProcess({
        name: 'dapr run -f dapr/dapr.yaml',
        command: daprBin('dapr'),
        args: ['run', '-f', path.join(repoRoot, 'dapr', 'dapr.yaml')],
        env: {
          ...stack.daprEnv,
          ...simulatedClouds(stack.simulatorUrl),
          ...stack.tracingEnv,
          DAPR_RUNTIME_PATH: repoRoot,
        },
        cwd: repoRoot,
        group: true,
        logFile: path.join(stack.logDir, 'dapr-run.log'),
        ready: () => httpOk(`http://127.0.0.1:${gatewayPort}/readyz`),
        readyTimeoutMs: 60_000,
      }),
    )
    .start();
}

/** Jaeger v2 all-in-one on loopback with in-memory storage (third_party/jaeger/config.yaml); built first unless current. */
function jaegerProcess(cfg: DevConfig, logDir: string): ManagedProcess {
  const bin = path.join(repoRoot, '.dapr', 'bin', 'jaeger');
  // The one place Jaeger is built (minutes the first time, 0.1 s when current).
  const built = spawnSync(path.join(repoRoot, 'third_party', 'build'), ['jaeger'], { stdio: 'inherit' });
  if (built.status !== 0) throw new Error('third_party/build jaeger failed');
  return new ManagedProcess({
    name: 'jaeger',
    command: bin,
    args: ['--config', path.join(repoRoot, 'third_party', 'jaeger', 'config.yaml')],
    env: {
      JAEGER_UI_PORT: String(cfg.JAEGER_UI_PORT),
      JAEGER_OTLP_HTTP_PORT: String(cfg.JAEGER_OTLP_HTTP_PORT),
      JAEGER_OTLP_GRPC_PORT: String(cfg.JAEGER_OTLP_GRPC_PORT),
      JAEGER_QUERY_GRPC_PORT: String(cfg.JAEGER_QUERY_GRPC_PORT),
      JAEGER_HEALTH_PORT: String(cfg.JAEGER_HEALTH_PORT),
      JAEGER_UI_ASSETS: cfg.JAEGER_UI_ASSETS,
    },
    cwd: repoRoot,
    logFile: path.join(logDir, 'jaeger.log'),
    // 200 once every pipeline component and extension reports OK.
    ready: () => httpOk(`http://127.0.0.1:${cfg.JAEGER_HEALTH_PORT}/status`),
  });
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
