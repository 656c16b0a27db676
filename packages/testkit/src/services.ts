/**
 * The two services as stack apps, each with its own sidecar, run from dist/ or as containers: ai-core pointed
 * at the model simulator, the gateway (or another replica) accepting the dev keys.
 */
import path from 'node:path';
import { repoRoot } from './paths';
import type { ServiceName } from './pod-contract';
import type { AppContext, AppSpec } from './stack';
import {
  containerArgs,
  containerEngine,
  ContainerProcess,
  containerRun,
  defaultLaunch,
  engineEnv,
  type ContainerRun,
  type Launch,
} from './container';

export interface ServicePorts {
  gateway: { app: number; metrics: number; daprHttp: number };
  aiCore: { app: number; metrics: number; daprHttp: number };
}

export interface ServiceOptions {
  /** Fixed ports (dev); tests leave them out and get free ones. */
  ports?: ServicePorts;
  /** Extra env per service (e.g. breaker settings in tests). */
  gatewayEnv?: NodeJS.ProcessEnv;
  aiCoreEnv?: NodeJS.ProcessEnv;
  /**
   * Keep ai-core's answer cache on (its default TTL). Off by default here: most
   * suites count model calls for repeated requests (drills, breakers, deadlines,
   * bench), which a cache hit would hide. `aiCoreEnv` can still set ANSWER_CACHE_TTL_SECONDS.
   */
  answerCache?: boolean;
  /** Host processes (default) or the services' images as containers; default from CONTEXT_QA_LAUNCH. */
  launch?: Launch;
  /** Container settings to change from their manifest's (e.g. a writable root, to see what a service writes). */
  container?: Partial<ContainerRun>;
  /**
   * Test hooks (each service's src/test-hooks.ts), e.g. `{ aiCore: { cacheWriteBackDelayMs: 2500 } }`:
   * that service then runs from dist/main-with-test-hooks.js, the hooks in CONTEXT_QA_TEST_HOOKS.
   * Not settings: the services' main.js never reads them. Host processes only.
   */
  testHooks?: { aiCore?: Record<string, unknown>; gateway?: Record<string, unknown> };
}

/** The entry point of a service on the host, and its hooks' variable when a test gives some (see ServiceOptions.testHooks). */
export function serviceMain(
  service: ServiceName,
  hooks?: Record<string, unknown>,
): { script: string; env: NodeJS.ProcessEnv } {
  if (!hooks) return { script: path.join(repoRoot, service, 'dist', 'main.js'), env: {} };
  return {
    script: path.join(repoRoot, service, 'dist', 'main-with-test-hooks.js'),
    env: { CONTEXT_QA_TEST_HOOKS: JSON.stringify(hooks) },
  };
}

/** ai-core's model settings pointing at the simulator; the SDKs still sign and authenticate. */
export const simulatedClouds = (simulatorUrl: string): NodeJS.ProcessEnv => ({
  BEDROCK_ENDPOINT: simulatorUrl,
  AZURE_OPENAI_ENDPOINT: simulatorUrl,
  AWS_ACCESS_KEY_ID: 'simulated',
  AWS_SECRET_ACCESS_KEY: 'simulated',
  AWS_REGION: 'us-east-1',
  AWS_EC2_METADATA_DISABLED: 'true',
});

/** Every stack here is local dev: the published dev keys (dev-keys.ts) are accepted. */
const LOCAL_GATEWAY_ENV = { LOCAL_DEV: 'true' };

/** One service from its built dist/ (or its image), with its own sidecar. */
function serviceApp(
  appId: ServiceName,
  ports: ServicePorts[keyof ServicePorts] | undefined,
  env: (stack: AppContext['stack']) => NodeJS.ProcessEnv,
  opts: Pick<ServiceOptions, 'launch' | 'container'> = {},
  hooks?: Record<string, unknown>,
): AppSpec {
  return {
    appId,
    ...(ports ? { appPort: ports.app, daprHttpPort: ports.daprHttp } : {}),
    start: ({ appPort, sidecar, stack }) => {
      const serviceEnv = {
        HOST: '127.0.0.1',
        PORT: String(appPort),
        METRICS_PORT: String(ports?.metrics ?? 0),
        DAPR_HTTP_PORT: String(sidecar.ports.http),
        ...stack.tracingEnv,
        ...env(stack),
      };
      // Ready, not just alive: a gateway without its key list would answer 503 to a valid key.
      if ((opts.launch ?? defaultLaunch()) === 'host') {
        const main = serviceMain(appId, hooks);
        return {
          command: process.execPath,
          args: [main.script],
          readyPath: '/readyz',
          env: { ...serviceEnv, ...main.env },
        };
      }
      if (hooks) throw new Error(`test hooks need ${appId} on the host: its image runs main.js, which has none`);
      const run = containerRun(appId, `${appId}-${appPort}`, opts.container);
      return {
        command: containerEngine(),
        args: containerArgs(run, serviceEnv),
        readyPath: '/readyz',
        env: engineEnv(),
        launch: (spec) => new ContainerProcess(spec, run.name, run.terminationGraceSeconds * 1000),
      };
    },
  };
}

/** One more gateway replica (same app id, its own sidecar and port), named `name` in the stack. */
export function gatewayReplica(name: string, env: NodeJS.ProcessEnv = {}): AppSpec {
  return { ...serviceApp('gateway-service', undefined, () => ({ ...LOCAL_GATEWAY_ENV, ...env })), name };
}

/** ai-core-service and gateway-service, each with its own sidecar; ai-core talks to the simulator. */
export function serviceApps(opts: ServiceOptions = {}): AppSpec[] {
  return [
    serviceApp(
      'ai-core-service',
      opts.ports?.aiCore,
      (stack) => ({
        ...simulatedClouds(stack.simulatorUrl),
        ...(opts.answerCache ? {} : { ANSWER_CACHE_TTL_SECONDS: '0' }),
        ...opts.aiCoreEnv,
      }),
      opts,
      opts.testHooks?.aiCore,
    ),
    serviceApp(
      'gateway-service',
      opts.ports?.gateway,
      () => ({ ...LOCAL_GATEWAY_ENV, ...opts.gatewayEnv }),
      opts,
      opts.testHooks?.gateway,
    ),
  ];
}
