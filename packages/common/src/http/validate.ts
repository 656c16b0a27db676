/** Request validation with zod: a failure becomes a 400 problem naming each bad field path. */
import type { z } from 'zod';
import { httpError } from './problem';

/** Parses with a zod schema; a failure is a 400 whose detail and `errors` name each field path. */
export function parseOr400<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const errors = result.error.issues.map((i) => ({ path: i.path.join('.') || '(body)', message: i.message }));
  throw httpError(400, errors.map((e) => `${e.path}: ${e.message}`).join('; '), { errors });
}
