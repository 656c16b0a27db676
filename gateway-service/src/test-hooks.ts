/**
 * Test and benchmark hooks: not settings. Only main-with-test-hooks.ts reads them (from
 * CONTEXT_QA_TEST_HOOKS, JSON), the entry point testkit and the bench start and no image
 * runs; main.ts never reads that variable, so no environment turns them on in production,
 * and they are neither in the config schema nor in the settings docs.
 */
import { z } from 'zod';

export const testHooksSchema = z.strictObject({
  /** Call ai-core at this URL without Dapr (no Dapr token sent), to measure what the sidecars cost (the bench). */
  aiCoreDirectUrl: z.url().optional(),
});
export type TestHooks = z.infer<typeof testHooksSchema>;

export const testHooksFrom = (env: NodeJS.ProcessEnv): TestHooks =>
  testHooksSchema.parse(JSON.parse(env['CONTEXT_QA_TEST_HOOKS'] ?? '{}'));
