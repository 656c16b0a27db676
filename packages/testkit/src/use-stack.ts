/// <reference types="jest" />
/**
 * The lifecycle every integration file repeats, once: a Stack started before the
 * file's (or describe block's) tests, stopped after them, its simulator healed after
 * each test when asked. Call it at describe level; it registers jest hooks.
 */
import { Stack, type StackOptions } from './stack';

export interface UseStackOptions {
  /** After each test: 'heal' clears the simulator's faults; 'heal-and-reset' also zeroes its counters. */
  afterEach?: 'heal' | 'heal-and-reset';
  /** For starting everything (default 120 s). */
  startTimeoutMs?: number;
}

/**
 * Returns the started Stack as it will be: use it inside hooks and tests (a later
 * beforeAll of the file runs after it started). `options` may be a function, for
 * options that need something started first (a port, a receiver).
 */
export function useStack(
  options: StackOptions | (() => StackOptions | Promise<StackOptions>),
  use: UseStackOptions = {},
): Stack {
  let started: Stack | undefined;
  beforeAll(async () => {
    started = await new Stack(typeof options === 'function' ? await options() : options).start();
  }, use.startTimeoutMs ?? 120_000);
  afterAll(() => started?.stop());
  if (use.afterEach) {
    const reset = use.afterEach === 'heal-and-reset';
    afterEach(async () => {
      const sim = started?.simulator;
      await sim?.heal();
      if (reset) await sim?.resetCounters();
    });
  }
  return lateBound(() => started);
}

/** A stand-in whose every property reads the Stack started later; used before that, it says so. */
function lateBound(current: () => Stack | undefined): Stack {
  return new Proxy({} as Stack, {
    get(_, prop) {
      const stack = current();
      if (!stack)
        throw new Error(`the Stack of useStack() was used before its beforeAll started it (reading ${String(prop)})`);
      const value: unknown = Reflect.get(stack, prop, stack);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(stack) : value;
    },
  });
}
