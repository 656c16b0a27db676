/** Wires config to adapters, domain and HTTP; start() returns the bound ports and a stop(). */
import {
  createDaprClient,
  daprSecret,
  MODEL_NAMES,
  Readiness,
  serveApp,
  sidecarReady,
  type Logger,
  type ModelName,
} from '@context-qa/common';
import { daprContextCache, daprTextStore } from './adapters/dapr-state';
import { GuardedModel } from './adapters/models/guarded';
import { PROVIDERS } from './adapters/models/registry';
import { createApp } from './app';
import type { Config } from './config';
import { ask } from './domain/ask';
import { contextAdmin } from './domain/context-admin';
import { PendingWrites } from './domain/pending-writes';
import { aiCoreMetrics } from './metrics';

export async function start(config: Config, logger: Logger) {
  const dapr = createDaprClient(config);
  const writeBacks = new PendingWrites();
  const metrics = aiCoreMetrics({ pendingWriteBacks: () => writeBacks.size });
  const cache = daprContextCache(config, config.CACHE_STORE, config.CACHE_TIMEOUT_MS);
  const store = daprTextStore(config, config.CONTEXT_STORE, config.STORE_TIMEOUT_MS);
  const secret = daprSecret(dapr, config.SECRET_STORE, config.STORE_TIMEOUT_MS);

  const breaker = {
    timeoutMs: config.MODEL_TIMEOUT_MS,
    errorThresholdPercentage: config.BREAKER_ERROR_THRESHOLD_PERCENT,
    resetTimeoutMs: config.BREAKER_RESET_TIMEOUT_MS,
    volumeThreshold: config.BREAKER_VOLUME_THRESHOLD,
    rollingCountTimeoutMs: config.BREAKER_ROLLING_WINDOW_MS,
    maxInFlight: config.MODEL_MAX_IN_FLIGHT,
  };
  const providers = {
    llama4: PROVIDERS.llama4({
      region: config.BEDROCK_REGION,
      modelId: config.BEDROCK_MODEL_ID,
      ...(config.BEDROCK_ENDPOINT ? { endpoint: config.BEDROCK_ENDPOINT } : {}),
    }),
    gpt4: PROVIDERS.gpt4({
      endpoint: config.AZURE_OPENAI_ENDPOINT,
      deployment: config.AZURE_OPENAI_DEPLOYMENT,
      apiVersion: config.AZURE_OPENAI_API_VERSION,
      apiKey: async () => {
        const key = await secret(config.AZURE_OPENAI_KEY_SECRET);
        if (!key) throw new Error(`secret ${config.AZURE_OPENAI_KEY_SECRET} is missing from ${config.SECRET_STORE}`);
        return key;
      },
    }),
  };
  // The cause chain of a failed model call goes to the logs; the client gets its code only.
  const logFailure = (model: ModelName, code: string, err: unknown) =>
    logger[code === 'cancelled' ? 'debug' : 'warn']({ model, code, err }, 'model call failed');
  const guarded = Object.fromEntries(
    MODEL_NAMES.map((m) => [m, new GuardedModel(providers[m], breaker, { ...metrics.models, failure: logFailure })]),
  ) as Record<ModelName, GuardedModel>;

  // Every store failure is logged once, with its cause, where it happens (domain/cache-sync.ts `logged`).
  const context = {
    cache,
    store,
    cacheTtlSeconds: config.CACHE_TTL_SECONDS,
    logger,
    writeBacks,
    writeBackDelayMs: config.CACHE_WRITEBACK_DELAY_MS,
    observe: metrics.context,
    observeWriteBack: metrics.writeBack,
  };
  const readiness = new Readiness({ sidecar: () => sidecarReady(config) });
  const app = createApp({
    logger,
    readiness,
    bodyLimit: config.BODY_LIMIT,
    appToken: config.APP_API_TOKEN,
    httpMiddleware: metrics.httpMiddleware,
    contexts: contextAdmin(context),
    requestTimeoutMs: config.REQUEST_TIMEOUT_MS,
    ask: (req, requestId, deadline) =>
      ask(req, requestId, deadline, {
        context,
        preference: config.MODEL_PREFERENCE,
        contextBudgetChars: config.CONTEXT_BUDGET_CHARS,
        defaultMaxTokens: config.DEFAULT_MAX_TOKENS,
        runModel: (m, r, budget, opts) => guarded[m].run(r, budget, opts),
      }),
  });
  return serveApp(app, {
    config,
    registry: metrics.registry,
    readiness,
    cleanup: async () => {
      if (writeBacks.size > 0) logger.info({ pending: writeBacks.size }, 'waiting for cache write-backs');
      await writeBacks.drain(); // each is bounded by CACHE_TIMEOUT_MS: none is dropped
      // Race losers still finishing in the background are bounded by MODEL_TIMEOUT_MS.
      await Promise.all(Object.values(guarded).map((g) => g.settle()));
      Object.values(guarded).forEach((g) => g.shutdown());
      await dapr.stop();
    },
  });
}
