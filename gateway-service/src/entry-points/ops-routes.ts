/** For operators and tools, without a key: health and readiness on every listener, the public API's OpenAPI document on the public one. */
import { addHealthRoutes, type Readiness } from '@context-qa/common/http';
import { openApiDocument } from '@context-qa/common/openapi';
import type { Routes } from './route-kit';

export function mountOpsRoutes(routes: Routes, readiness: Readiness, opts: { docs: boolean }): void {
  if (opts.docs) {
    // For client generators and API gateways; built on first use.
    let document: object | undefined;
    routes.add('get', '/openapi.json', (_req, res) => void res.json((document ??= openApiDocument())));
  }
  addHealthRoutes(routes, readiness);
}
