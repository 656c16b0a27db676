/**
 * Sampling parameters per provider: each API's documented range, and how a
 * value from our API (OpenAI's ranges, checked by chatRequestSchema) is put
 * into it. The "Sampling parameters per provider" table of docs/deadlines-and-errors.md says the same.
 *
 * Temperature is clamped, not scaled: it is the same softmax divisor in both
 * APIs, so every value Bedrock can take keeps its exact meaning (0.7 stays
 * 0.7), and only values above Bedrock's 1 become 1, its most random setting.
 * Scaling (t / 2) would keep 1.5 apart from 1.0, but change every request,
 * including the common 0–1 ones.
 */
import type { ProviderKind } from '../../models-config';
import type { GenerateRequest } from '../../domain/ports';

interface Range {
  min: number;
  max: number;
}

export interface SamplingLimits {
  temperature: Range;
  topP: Range;
  /** Most stop sequences a request may carry. */
  maxStopSequences: number;
}

/** [Azure OpenAI chat completions reference; Bedrock InferenceConfiguration and Meta Llama parameters] */
export const SAMPLING_LIMITS: Record<ProviderKind, SamplingLimits> = {
  'azure-openai': { temperature: { min: 0, max: 2 }, topP: { min: 0, max: 1 }, maxStopSequences: 4 },
  bedrock: { temperature: { min: 0, max: 1 }, topP: { min: 0, max: 1 }, maxStopSequences: 2500 },
};

export type Sampling = Pick<GenerateRequest, 'temperature' | 'topP' | 'stop'>;

const clamp = (v: number, r: Range) => Math.min(r.max, Math.max(r.min, v));

/** The request's sampling parameters inside `kind`'s ranges; unset ones stay unset (the model's defaults). */
export function samplingFor(kind: ProviderKind, req: GenerateRequest): Sampling {
  const limits = SAMPLING_LIMITS[kind];
  return {
    ...(req.temperature !== undefined ? { temperature: clamp(req.temperature, limits.temperature) } : {}),
    ...(req.topP !== undefined ? { topP: clamp(req.topP, limits.topP) } : {}),
    ...(req.stop?.length ? { stop: req.stop.slice(0, limits.maxStopSequences) } : {}),
  };
}
