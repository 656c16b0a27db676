/**
 * The simulator's HTTP server: the Bedrock Runtime and Azure OpenAI routes on one port, the loopback-only
 * admin API (/admin/faults, /admin/counters) and /healthz.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleAzure, AZURE_DEPLOYMENT_ROUTE, AZURE_V1_ROUTE } from './azure';
import { BEDROCK_ROUTE, handleBedrock } from './bedrock';
import { Counters } from './counters';
import { FaultRegistry, type Fault } from './faults';
import { readJson, sendJson } from './http-util';

export interface SimulatorOptions {
  port?: number;
  host?: string;
  /** Azure deployment names that exist. Default gpt-4 and gpt-4o. */
  deployments?: string[];
  faults?: Record<string, Fault>;
}

export interface Simulator {
  port: number;
  url: string;
  faults: FaultRegistry;
  counters: Counters;
  stop(): Promise<void>;
}

const ADMIN_FAULT = /^\/admin\/faults\/(.+)$/;

const isLoopback = (addr = '') => addr.startsWith('127.') || addr === '::1' || addr.startsWith('::ffff:127.');

/** Bedrock Runtime + Azure OpenAI on one port, with a loopback-only admin API under /admin. */
export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const faults = new FaultRegistry(opts.faults);
  const counters = new Counters();
  const deployments = new Set(opts.deployments ?? ['gpt-4', 'gpt-4o']);

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://sim');
    const path = url.pathname;
    if (path.startsWith('/admin')) return admin(req, res, path);
    if (req.method !== 'POST')
      return sendJson(
        res,
        path === '/healthz' ? 200 : 404,
        path === '/healthz' ? { status: 'ok' } : { message: 'Not Found' },
      );
    let m: RegExpExecArray | null;
    if ((m = BEDROCK_ROUTE.exec(path))) return handleBedrock({ faults, counters }, req, res, m[1]!, m[2]!);
    if ((m = AZURE_DEPLOYMENT_ROUTE.exec(path)))
      return handleAzure({ faults, counters, deployments }, req, res, url, m[1]);
    if (AZURE_V1_ROUTE.test(path)) return handleAzure({ faults, counters, deployments }, req, res, url, undefined);
    sendJson(res, 404, { message: `no simulated route for POST ${path}` });
  };

  const admin = async (req: IncomingMessage, res: ServerResponse, path: string): Promise<void> => {
    if (!isLoopback(req.socket.remoteAddress)) return sendJson(res, 403, { message: 'admin API is loopback-only' });
    const target = ADMIN_FAULT.exec(path)?.[1];
    try {
      if (path === '/admin/counters' && req.method === 'GET') return sendJson(res, 200, counters.snapshot());
      if (path === '/admin/counters' && req.method === 'DELETE') return (counters.reset(), sendJson(res, 200, {}));
      if (path === '/admin/faults' && req.method === 'GET') return sendJson(res, 200, faults.all());
      if (path === '/admin/faults' && req.method === 'DELETE') return (faults.clear(), sendJson(res, 200, {}));
      if (target && req.method === 'PUT') {
        faults.set(decodeURIComponent(target), (await readJson(req)) as Fault);
        return sendJson(res, 200, faults.all());
      }
      if (target && req.method === 'DELETE')
        return (faults.clear(decodeURIComponent(target)), sendJson(res, 200, faults.all()));
    } catch (err) {
      return sendJson(res, 400, { message: (err as Error).message });
    }
    sendJson(res, 404, { message: `no admin route for ${req.method} ${path}` });
  };

  const server = http.createServer((req, res) => {
    route(req, res).catch((err) => {
      if (!res.headersSent) sendJson(res, 500, { message: String(err) });
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    faults,
    counters,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // hanging requests included
      }),
  };
}
