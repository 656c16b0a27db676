/**
 * What a request spent, as ai-core reports it to the gateway, and what a
 * request may cost before it runs. Whole answers carry it in SPEND_HEADER
 * (headers.ts), streams in the two SSE comments below. ai-core owns the strategy table and meters
 * every model call it makes for a request (drafts, synthesis, race losers,
 * fallbacks); the gateway charges that total to the key's budget.
 */
import { z } from 'zod';
import type { ModelName } from './requests';

/** Tokens charged per model for one request: the sum over every call made to it. */
export type Spend = Record<ModelName, { input: number; output: number }>;

/** ai-core → gateway, the last event of a stream (an SSE comment: clients ignore it; the gateway does not relay it). */
export const SPEND_TRAILER = ': spend ';
/** ai-core → gateway, right after a stream starts: the spend so far (running calls at their most), what a stream cut before its trailer is charged from. */
export const SPEND_SO_FAR = ': spend-so-far ';

/** A spend report as the SSE event ai-core writes: `final`, the trailer (everything spent); else the spend so far. */
export const spendEvent = (spend: Spend, final: boolean): string =>
  `${final ? SPEND_TRAILER : SPEND_SO_FAR}${JSON.stringify(spend)}\n\n`;

/**
 * A stream event (without its blank line) that is a spend report, as the gateway reads it:
 * what it carries (undefined when malformed) and whether it is the trailer; undefined for any other event.
 */
export function readSpendEvent(event: string): { spend: Spend | undefined; final: boolean } | undefined {
  const final = event.startsWith(SPEND_TRAILER);
  if (!final && !event.startsWith(SPEND_SO_FAR)) return undefined;
  return { spend: parseSpend(event.slice((final ? SPEND_TRAILER : SPEND_SO_FAR).length)), final };
}

const tokens = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const spendSchema = z.record(z.string().min(1).max(128), z.object({ input: tokens, output: tokens }));

/** The spend a header or trailer carries; undefined when absent or malformed (never a credit). */
export function parseSpend(text: string | undefined): Spend | undefined {
  if (text === undefined) return undefined;
  try {
    const parsed = spendSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export const spendTotal = (spend: Spend): number =>
  Object.values(spend).reduce((sum, s) => sum + s.input + s.output, 0);

/**
 * Tokens a text may take before a tokenizer has seen it: ~4 characters a token
 * for ASCII (English, code), one token a character for anything else (CJK,
 * emoji, accented text often take one or more each): high rather than low.
 */
export function estimateTokens(text: string): number {
  let ascii = 0;
  let other = 0;
  for (const ch of text) {
    if (ch.charCodeAt(0) < 128) ascii++;
    else other++;
  }
  return Math.ceil(ascii / 4) + other;
}
