/** What every route module of one listener shares (routes.ts builds it once per listener). */
import type { RequestHandler } from 'express';
import type { Readiness, routeTable } from '@context-qa/common/http';
import type { Logger } from '@context-qa/common/telemetry';
import type { Scope } from '../domain/api-keys';
import type { ApiKeyList } from '../domain/ports';
import type { LimitDeps } from './limits';
import type { AiCoreLink } from './relay';

export type Routes = ReturnType<typeof routeTable>;

export interface RouteKit extends AiCoreLink {
  logger: Logger;
  apiKeys: ApiKeyList;
  readiness: Readiness;
  /** Per-key rate limits and token budgets (limits.ts). */
  limits: LimitDeps;
  /** The caller's key, its scope and tenant (authenticate.ts). */
  auth(scope: Scope): RequestHandler;
  /** Load shedding in front of the answer routes (admission.ts). */
  admit: RequestHandler;
  /** Per-key concurrency on this replica, after authentication and before the body (key-concurrency.ts). */
  perKey: RequestHandler;
  /** The JSON body parser, with the size limit. */
  body: RequestHandler[];
}
