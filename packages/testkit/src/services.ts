import path from 'node:path';
import { repoRoot } from './paths';
import type { AppSpec } from './stack';

export interface ServicePorts {
  gateway: { app: number; metrics: number; daprHttp: number };
  aiCore: { app: number; metrics: number; daprHttp: number };
}

export interface ServiceOptions {
  /** Fixed ports (dev); tests leave them out and get free ones. */
  ports?: ServicePorts;
  /** Extra env per service (e.g. breaker settings in tests). */
  gatewayEnv?: NodeJS.ProcessEnv;
  aiCoreEnv?: NodeJS.ProcessEnv;
}

/** ai-core's model settings pointing at the simulator; the SDKs still sign and authenticate. */
export const simulatedClouds = (simulatorUrl: string): NodeJS.ProcessEnv => ({
  BEDROCK_ENDPOINT: simulatorUrl,
  AZURE_OPENAI_ENDPOINT: simulatorUrl,
  AWS_ACCESS_KEY_ID: 'simulated',
  AWS_SECRET_ACCESS_KEY: 'simulated',
  AWS_REGION: 'us-east-1',
  AWS_EC2_METADATA_DISABLED: 'true',
});

const main = (service: string) => path.join(repoRoot, service, 'dist', 'main.js');

/** ai-core-service and gateway-service, each from its built dist/, each with its own sidecar. */
export function serviceApps(opts: ServiceOptions = {}): AppSpec[] {
  return [
    {
      appId: 'ai-core-service',
      ...(opts.ports ? { appPort: opts.ports.aiCore.app } : {}),
      start: ({ appPort, sidecar, stack }) => ({
        command: process.execPath,
        args: [main('ai-core-service')],
        env: {
          ...simulatedClouds(stack.simulatorUrl),
          HOST: '127.0.0.1',
          PORT: String(appPort),
          METRICS_PORT: String(opts.ports?.aiCore.metrics ?? 0),
          DAPR_HTTP_PORT: String(sidecar.ports.http),
          ...opts.aiCoreEnv,
        },
      }),
      ...(opts.ports ? { daprHttpPort: opts.ports.aiCore.daprHttp } : {}),
    },
    {
      appId: 'gateway-service',
      ...(opts.ports ? { appPort: opts.ports.gateway.app } : {}),
      start: ({ appPort, sidecar }) => ({
        command: process.execPath,
        args: [main('gateway-service')],
        env: {
          HOST: '127.0.0.1',
          PORT: String(appPort),
          METRICS_PORT: String(opts.ports?.gateway.metrics ?? 0),
          DAPR_HTTP_PORT: String(sidecar.ports.http),
          ...opts.gatewayEnv,
        },
      }),
      ...(opts.ports ? { daprHttpPort: opts.ports.gateway.daprHttp } : {}),
    },
  ];
}
