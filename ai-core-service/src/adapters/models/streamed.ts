/**
 * Consumes a model's stream into one result while handing each delta on as it
 * arrives. A stall longer than `idleMs` (before the first token or between
 * two) is the model's timeout; a stream that stops without the model's end
 * event is a failure, never a quiet success. Each wait for the next event ends
 * when the signals abort, even if the provider ignores them.
 */
import { ModelError, type GenerateResult, type StreamEvent } from '../../domain/ports';
import { untilAborted } from './until-aborted';

export async function collectStream(
  open: (signal: AbortSignal) => AsyncIterable<StreamEvent>,
  signal: AbortSignal,
  idleMs: number,
  onDelta: (text: string) => void,
): Promise<GenerateResult> {
  const idle = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => idle.abort(), idleMs);
  };
  arm();
  let text = '';
  const stopped = AbortSignal.any([signal, idle.signal]);
  const events = open(stopped)[Symbol.asyncIterator]();
  let done = false;
  try {
    for (;;) {
      const next = await untilAborted(events.next(), stopped);
      if (next.done) break;
      const event = next.value;
      if (event.type === 'end')
        return {
          text,
          finishReason: event.finishReason,
          ...(event.usage ? { usage: event.usage } : {}),
          ...(event.model ? { model: event.model } : {}),
        };
      arm();
      text += event.text;
      if (!idle.signal.aborted && !signal.aborted) onDelta(event.text); // nothing more once stopped
    }
    done = true;
    throw new ModelError('upstream_error', 'stream ended before the model finished');
  } catch (err) {
    if (idle.signal.aborted && !signal.aborted) {
      throw new ModelError('timeout', `no token for ${idleMs} ms${text ? ' mid-stream' : ''}`, { cause: err });
    }
    throw err;
  } finally {
    clearTimeout(timer);
    // What for-await would do on an early exit (closes the upstream); not awaited: a provider stuck in next() finishes it later.
    if (!done) events.return?.().catch(() => {});
  }
}
