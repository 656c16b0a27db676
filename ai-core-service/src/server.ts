/** Wires config to adapters, domain and HTTP; start() returns the bound ports and a stop(). */
import type { ModelName } from '@context-qa/common/contract';
import { createDaprClient, daprSecret, sidecarReady } from '@context-qa/common/dapr';
import { Readiness, serveApp } from '@context-qa/common/http';
import type { Logger } from '@context-qa/common/telemetry';
import { daprAnswerStore } from './adapters/dapr-answer-cache';
import { daprContextCache, daprTextStore } from './adapters/dapr-state';
import { GuardedModel } from './adapters/models/guarded';
import { ModelPool } from './adapters/models/pool';
import { createProvider } from './adapters/models/registry';
import { createApp } from './app';
import { catalogue, modelPreference, modelSpecs, type Config } from './config';
import { AnswerCache, catalogueVersion } from './domain/answer-cache';
import { AnswerPipeline } from './domain/answer/pipeline';
import { contextAdmin } from './domain/context-admin';
import { modelCards } from './domain/routing';
import { MeteredModels } from './domain/spend';
import { PendingWrites } from './domain/pending-writes';
import { aiCoreMetrics } from './metrics';
import type { TestHooks } from './test-hooks';

export async function start(config: Config, logger: Logger, hooks: TestHooks = {}) {
  const dapr = createDaprClient(config);
  const writeBacks = new PendingWrites();
  // GenAI labels (provider, model id) from each provider's own telemetry identity; looked up at call time.
  const metrics = aiCoreMetrics({
    pendingWriteBacks: () => writeBacks.size,
    genAi: (m) => guarded.get(m)?.provider.telemetry,
  });
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
  const providerDeps = {
    secret: async (name: string) => {
      const value = await secret(name);
      if (!value) throw new Error(`secret ${name} is missing from ${config.SECRET_STORE}`);
      return value;
    },
  };
  // The cause chain of a failed model call goes to the logs; the client gets its code only.
  const logFailure = (model: ModelName, code: string, err: unknown) =>
    logger[code === 'cancelled' ? 'debug' : 'warn']({ model, code, err }, 'model call failed');
  // One breaker per configured model (MODELS), each with its own provider client.
  const guarded = new Map(
    modelSpecs(config).map((spec) => [
      spec.name,
      new GuardedModel(createProvider(spec, providerDeps), breaker, { ...metrics.models, failure: logFailure }),
    ]),
  );
  const preference = modelPreference(config);
  // Keyed on the catalogue in preference order (name, provider, model id or deployment): a change misses.
  const byName = new Map(catalogue(config).map((m) => [m.name, m]));
  const answers = new AnswerCache({
    store: daprAnswerStore(config, config.ANSWER_CACHE_STORE, config.CACHE_TIMEOUT_MS),
    ttlSeconds: config.ANSWER_CACHE_TTL_SECONDS,
    version: catalogueVersion(
      preference.map((m) => byName.get(m) ?? { name: m, provider: '?', target: '?' }),
      config.CONTEXT_BUDGET_CHARS,
    ),
    logger,
    ...metrics.answerCache,
  });
  // Every store failure is logged once, with its cause, where it happens (domain/cache-sync.ts `logged`).
  const context = {
    cache,
    store,
    cacheTtlSeconds: config.CACHE_TTL_SECONDS,
    logger,
    writeBacks,
    writeBackDelayMs: hooks.cacheWriteBackDelayMs ?? 0,
    observe: metrics.context,
    observeWriteBack: metrics.writeBack,
  };
  const routing = { preference, autoStrategy: config.CHAT_AUTO_STRATEGY };
  const pipeline = new AnswerPipeline({
    context,
    // Every model call, on every route, is metered into its request's spend (domain/spend.ts).
    models: new MeteredModels(new ModelPool(guarded, config.STREAM_IDLE_TIMEOUT_MS)),
    answers,
    contextBudgetChars: config.CONTEXT_BUDGET_CHARS,
    defaultMaxTokens: config.DEFAULT_MAX_TOKENS,
    agreementThreshold: config.FUSE_AGREEMENT_THRESHOLD,
  });
  const readiness = new Readiness({ sidecar: () => sidecarReady(config) });
  const app = createApp({
    logger,
    readiness,
    bodyLimit: config.BODY_LIMIT,
    appToken: config.APP_API_TOKEN,
    httpMiddleware: metrics.httpMiddleware,
    contexts: contextAdmin(context),
    requestTimeoutMs: config.REQUEST_TIMEOUT_MS,
    pipeline,
    routing,
    models: modelCards(catalogue(config), routing),
  });
  return serveApp(app, {
    config,
    registry: metrics.registry,
    readiness,
    cleanup: async () => {
      if (writeBacks.size > 0) logger.info({ pending: writeBacks.size }, 'waiting for cache write-backs');
      await writeBacks.drain(); // each is bounded by CACHE_TIMEOUT_MS: none is dropped
      // Race losers still finishing in the background: bounded by MODEL_TIMEOUT_MS and by their request's budget.
      await Promise.all([...guarded.values()].map((g) => g.settle()));
      guarded.forEach((g) => g.shutdown());
      await dapr.stop();
    },
  });
}
