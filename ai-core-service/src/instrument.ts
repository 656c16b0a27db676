/** Imported first by main.ts: tracing must patch http and express before anything loads them. */
import { instrument } from '@context-qa/common/tracing';

export const tracing = instrument('ai-core-service');
