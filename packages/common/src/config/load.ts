/**
 * Start-up config loading: parses the environment once against a service's zod schema (failing with every
 * bad variable named) and offers env helpers for ports, durations and booleans.
 */
import { z } from 'zod';

/** Thrown when the environment does not satisfy a service's schema; the message names each variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Parses `env` with a zod object schema whose keys are the environment variable
 * names (each with `.describe()` and a default where one makes sense). Parsed once
 * at start-up; the typed result is passed down, never re-read from process.env.
 */
export function loadConfig<S extends z.ZodObject>(schema: S, env: NodeJS.ProcessEnv = process.env): z.infer<S> {
  const result = schema.safeParse(env);
  if (result.success) return result.data;
  const lines = result.error.issues.map((i) => `  ${i.path.join('.') || '(env)'}: ${i.message}`);
  throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
}

/** Env helpers: a TCP port, a positive duration in ms, and a boolean that accepts true/false/1/0. */
export const env = {
  port: (fallback: number) => z.coerce.number().int().min(0).max(65535).default(fallback),
  ms: (fallback: number) => z.coerce.number().int().positive().default(fallback),
  bool: (fallback: boolean) =>
    z
      .enum(['true', 'false', '1', '0'])
      .default(fallback ? 'true' : 'false')
      .transform((v) => v === 'true' || v === '1'),
};
