/**
 * Deterministic answers that tests can reason about: they name the model and
 * quote the context the caller delimited with <context>…</context> or, as
 * ai-core does, with a per-request id: <context-3f9c…>…</context-3f9c…> (only
 * the closing tag with the same id ends the block), so a test proves the
 * context reached the model.
 */
const CONTEXT = /<(context(?:-[0-9a-f]+)?)>([\s\S]*?)<\/\1>/;
const QUOTE_CHARS = 200;

export interface Answer {
  text: string;
  inputTokens: number;
  outputTokens: number;
  /** True when maxTokens cut the answer short. */
  truncated: boolean;
}

/** Roughly 4 characters per token, as for English text with GPT/Llama tokenizers. */
export const countTokens = (text: string): number => Math.max(1, Math.ceil(text.length / 4));

const squash = (s: string) => s.replace(/\s+/g, ' ').trim();

/** `promptText` is everything the model was sent; `userText` (default: all of it) is what the caller asked. */
/** ai-core's synthesis prompt (strategy fuse) carries the drafts in blocks like the context's. */
const DRAFT = /<(draft-[0-9a-f]+)>([\s\S]*?)<\/\1>/g;

export function answer(model: string, promptText: string, maxTokens?: number, userText = promptText): Answer {
  const drafts = [...promptText.matchAll(DRAFT)].map((m) => squash(m[2]!));
  // A synthesis quotes every draft it was given, so a test sees that each one reached the model.
  if (drafts.length > 0)
    return sized(
      `[${model}] Synthesis of ${drafts.length} drafts: ${drafts.map((d) => `«${d.slice(0, QUOTE_CHARS)}»`).join(' ')}`,
      promptText,
      maxTokens,
    );
  const context = CONTEXT.exec(promptText)?.[2];
  const question = squash(userText.replace(CONTEXT, ' ')).slice(-QUOTE_CHARS);
  const grounded = context
    ? `Based on the context "${squash(context).slice(0, QUOTE_CHARS)}"`
    : 'No context was provided';
  return sized(`[${model}] ${grounded}, here is my answer to: ${question}`, promptText, maxTokens);
}

function sized(full: string, promptText: string, maxTokens?: number): Answer {
  const words = full.split(' ');
  // One word ~ one token is close enough for the cut-off.
  const truncated = maxTokens !== undefined && words.length > maxTokens;
  const text = truncated ? words.slice(0, maxTokens).join(' ') : full;
  return { text, inputTokens: countTokens(promptText), outputTokens: countTokens(text), truncated };
}

/** Splits text into stream chunks of a few words each (spaces kept, so chunks join back to text). */
export function chunks(text: string, wordsPerChunk = 3): string[] {
  const words = text.split(/(?<= )/);
  const out: string[] = [];
  for (let i = 0; i < words.length; i += wordsPerChunk) out.push(words.slice(i, i + wordsPerChunk).join(''));
  return out;
}
