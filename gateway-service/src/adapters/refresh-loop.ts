/**
 * Runs `tick` now, then again after the delay each run returns (a list read
 * at its interval, retried sooner while it fails), until stopped. A run in
 * flight when stop() is called does not re-arm; the timer never holds the
 * process open.
 */
export function refreshLoop(tick: () => Promise<number>): { stop(): void } {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const run = async () => {
    const delayMs = await tick();
    if (!stopped) timer = setTimeout(() => void run(), delayMs).unref();
  };
  void run();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
