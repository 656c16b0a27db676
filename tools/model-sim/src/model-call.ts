/**
 * The fault pipeline both simulated APIs run each model request through (count, hang, delay, fail, else
 * answer) and paced streaming that can break mid-stream, so Bedrock and Azure fail the same ways.
 */
import type { ServerResponse } from 'node:http';
import type { Counters } from './counters';
import type { ErrorSpec, Fault, FaultRegistry } from './faults';
import { clientGone, sleep, untilGone } from './http-util';

export interface CallContext {
  op: string;
  target: string;
  fault: Fault;
  signal: AbortSignal;
  /** Call when the response turned out to be an error (after headers, e.g. mid-stream). */
  countError(): void;
}

/**
 * Runs one model request through the fault pipeline shared by both APIs:
 * count it, hang or wait as configured, maybe fail with the configured error,
 * else hand over to `respond`.
 */
export async function modelCall(
  deps: { faults: FaultRegistry; counters: Counters },
  res: ServerResponse,
  op: string,
  target: string,
  promptText: string,
  sendError: (spec: ErrorSpec) => void,
  respond: (ctx: CallContext) => Promise<void> | void,
): Promise<void> {
  const { faults, counters } = deps;
  counters.request(op, target);
  counters.track(op, target, res);
  const fault = faults.for(target, promptText);
  const signal = clientGone(res);
  const countError = () => counters.error(op, target);
  if (fault.hang) {
    countError();
    return untilGone(signal);
  }
  if (!(await sleep(faults.delayMs(fault), signal))) return;
  const failure = faults.failure(fault);
  if (failure) {
    countError();
    return sendError(failure);
  }
  await respond({ op, target, fault, signal, countError });
}

/** Writes stream chunks with the fault's pacing; stops (false) on a mid-stream fault or a gone client. */
export async function paced(
  ctx: CallContext,
  res: ServerResponse,
  parts: string[],
  write: (part: string) => void,
  failMidStream: () => void,
): Promise<boolean> {
  const { fault, signal } = ctx;
  for (let i = 0; i < parts.length; i++) {
    if (fault.failAfterChunks !== undefined && i >= fault.failAfterChunks) {
      ctx.countError();
      if (fault.midStream === 'drop') res.destroy();
      else failMidStream();
      return false;
    }
    if (i > 0 && !(await sleep(fault.chunkDelayMs ?? 0, signal))) return false;
    write(parts[i]!);
  }
  return true;
}
