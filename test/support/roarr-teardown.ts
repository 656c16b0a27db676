/**
 * Jest setup (every test file): removes the `error` listener that roarr (the logger of
 * http-terminator, which @dapr/dapr loads) puts on process.stdout when it loads. Each
 * test file loads its own copy into a fresh global, so roarr never sees the previous
 * copy to tear it down; one worker running more than ten such files in turn printed
 * MaxListenersExceededWarning (11 error listeners added to [SyncWriteStream]).
 * This is roarr's own teardown, run when the file that loaded it is done.
 */
afterAll(() => {
  (globalThis as { ROARR?: { teardown?: () => void } }).ROARR?.teardown?.();
});
