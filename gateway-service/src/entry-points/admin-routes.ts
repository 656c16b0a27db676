/**
 * The admin API (an `admin` key; on the internal listener when ADMIN_PORT is
 * set): a tenant's context, relayed to ai-core, and what a key has used.
 * Every access is audited.
 */
import type { Request, Response } from 'express';
import { AI_CORE_ROUTES, contextKeySchema, contextPutSchema } from '@context-qa/common/contract';
import { keyHash } from '@context-qa/common/crypto';
import { type AccessFields, parseOr400 } from '@context-qa/common/http';
import { requestContext } from '@context-qa/common/telemetry';
import { apiKeyEntrySchema, maySeeUsageOf, type Caller } from '../domain/api-keys';
import { refuse } from '../domain/outcomes';
import type { AiCoreMethod } from '../domain/ports';
import { limitsUnavailable } from './limits';
import { aiCoreFor, relayWhole } from './relay';
import type { RouteKit, Routes } from './route-kit';

const keyIdSchema = apiKeyEntrySchema.shape.id;

export function mountAdminRoutes(routes: Routes, kit: RouteKit): void {
  const admin = kit.auth('admin');

  /**
   * Audit trail of admin access (context reads and writes, usage reads): which key id did what,
   * to what (a context key only hashed: it may be a normalised prompt), how it ended; never the text.
   */
  const audit = (res: Response, action: string, target: { contextKeyHash: string } | { targetKeyId: string }) => {
    const { requestId } = requestContext.get() ?? { requestId: '' };
    // 'close' also fires when the caller goes away mid-write: that attempt is audited too.
    res.once('close', () => {
      const status = res.statusCode;
      const ended = status < 300 ? 'ok' : 'failed';
      const result = res.writableFinished ? ended : 'aborted';
      kit.logger.info(
        {
          audit: true,
          action,
          keyId: (res.locals['access'] as AccessFields | undefined)?.keyId,
          ...target,
          requestId,
          status,
          result,
        },
        'audit',
      );
    });
  };

  // ai-core takes the key as ?key= (see its routes): it survives Dapr's path decoding.
  const context =
    (method: AiCoreMethod, action: string, payload?: (req: Request) => unknown) =>
    async (req: Request, res: Response) => {
      const key = parseOr400(contextKeySchema, req.params['key']);
      audit(res, action, { contextKeyHash: keyHash(key) });
      const path = `${AI_CORE_ROUTES.context.path}?key=${encodeURIComponent(key)}`;
      const body = payload?.(req);
      relayWhole(res, await aiCoreFor(kit, req, res).send(method, path, body), 'problem');
    };
  routes.add('get', '/v1/context/:key', admin, context('GET', 'context.get'));
  routes.add(
    'put',
    '/v1/context/:key',
    admin,
    ...kit.body,
    context('PUT', 'context.put', (req) => parseOr400(contextPutSchema, req.body)),
  );
  routes.add('delete', '/v1/context/:key', admin, context('DELETE', 'context.delete'));

  // What a key has used: this minute's requests and tokens, today's tokens, requests in flight.
  routes.add('get', '/v1/usage/:keyId', admin, async (req, res) => {
    const keyId = parseOr400(keyIdSchema, req.params['keyId']);
    audit(res, 'usage.get', { targetKeyId: keyId });
    // Another tenant's key is as unknown as a key that does not exist.
    const target = kit.apiKeys()?.find((e) => e.id === keyId);
    if (!maySeeUsageOf(res.locals['caller'] as Caller, target)) throw refuse(res, 'key_not_found');
    res.json(
      await kit.limits.limiter.usage(keyId).catch((err: unknown) => {
        throw limitsUnavailable(res, err);
      }),
    );
  });
}
