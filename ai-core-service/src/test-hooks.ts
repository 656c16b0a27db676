/**
 * Test and benchmark hooks: not settings. Only main-with-test-hooks.ts reads them (from
 * CONTEXT_QA_TEST_HOOKS, JSON), the entry point testkit and the bench start and no image
 * runs; main.ts never reads that variable, so no environment turns them on in production,
 * and they are neither in the config schema nor in the settings docs.
 */
import { z } from 'zod';

export const testHooksSchema = z.strictObject({
  /** Hold each cache write-back this long, so a test can interleave an admin write with it (cache-coherence). */
  cacheWriteBackDelayMs: z.number().int().min(0).max(10_000).optional(),
});
export type TestHooks = z.infer<typeof testHooksSchema>;

export const testHooksFrom = (env: NodeJS.ProcessEnv): TestHooks =>
  testHooksSchema.parse(JSON.parse(env['CONTEXT_QA_TEST_HOOKS'] ?? '{}'));
