/** Imported first by main.ts: tracing must patch http and express before anything loads them. */
import { instrument } from '@context-qa/common/tracing';

// The public edge: callers' trace context is not trusted (see TracingOptions.edge).
export const tracing = instrument('gateway-service', { edge: true });
