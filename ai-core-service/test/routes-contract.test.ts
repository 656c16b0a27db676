/**
 * Dapr's access control matches path prefixes segment by segment: every route
 * the policy admits (AI_CORE_ROUTES) also admits any path below it. So ai-core
 * serves nothing but the contract's routes and its health checks: a new route
 * under an admitted path would be opened to the gateway without anyone deciding it.
 */
import { METHODS } from 'node:http';
import type { Express } from 'express';
import { AI_CORE_ROUTES } from '@context-qa/common/contract';
import { testApp } from './fakes';

/** Each route Express has registered, as "METHOD /path". */
function registered(app: Express): string[] {
  const stack = (
    app as unknown as { router: { stack: { route?: { path: string; methods: Record<string, boolean> } }[] } }
  ).router.stack;
  // A route on every method is the route table's 405 answer for the other methods of a known path.
  const every = (methods: Record<string, boolean>) => Object.keys(methods).length >= METHODS.length;
  return stack.flatMap((layer) =>
    layer.route && !every(layer.route.methods)
      ? Object.keys(layer.route.methods).map((m) => `${m.toUpperCase()} ${layer.route!.path}`)
      : [],
  );
}

test('when ai-core is built, then it serves exactly the contract routes and verbs, plus the health checks', () => {
  const app = testApp();
  const contract = Object.values(AI_CORE_ROUTES).flatMap((r) => r.verbs.map((v) => `${v} ${r.path}`));
  expect(registered(app).sort()).toEqual([...contract, 'GET /healthz', 'GET /readyz'].sort());
});
