/**
 * How long Opossum keeps a call counted. Its rolling window is a ring of
 * buckets, rotated every floor(window / buckets) ms; a call's fire is counted
 * in the newest bucket, which leaves the ring `buckets` rotations after it
 * became the newest. A call that started just before a rotation is therefore
 * out of the window (buckets − 1) rotations after it started: 0.9 × the window.
 */
export const BREAKER_WINDOW_BUCKETS = 10;

const rotationMs = (windowMs: number) => Math.floor(windowMs / BREAKER_WINDOW_BUCKETS);

/** The shortest time a call is still counted in a window of `windowMs`. */
export const countedForMs = (windowMs: number): number => (BREAKER_WINDOW_BUCKETS - 1) * rotationMs(windowMs);

/** The shortest window (in whole rotations) that still counts a call of `longestCallMs` when its verdict lands. */
export const windowFor = (longestCallMs: number): number =>
  BREAKER_WINDOW_BUCKETS * Math.ceil(longestCallMs / (BREAKER_WINDOW_BUCKETS - 1));
