/**
 * The offline deployment checks: every manifest (kustomize-rendered) and Dapr
 * YAML against the Kubernetes and Dapr schemas and our rules, and both
 * Dockerfiles through hadolint. Each rule is also shown to catch a breakage.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '@context-qa/testkit';
import { check, replaceIn, scratchCopies } from './harness';

describe('manifest-check', () => {
  const { broken, cleanup } = scratchCopies();
  afterAll(cleanup);

  test('when the repository is checked, then every object passes the schemas and the rules', () => {
    const { code, out } = check(repoRoot);
    expect(out).toMatch(/manifest-check: \d+ objects checked, 0 problems/);
    expect(Number(/(\d+) objects checked/.exec(out)?.[1])).toBeGreaterThan(50);
    expect(code).toBe(0);
  });

  test.each([
    [
      'a Kubernetes schema violation',
      (r: string) => replaceIn(r, 'k8s/base/gateway.yaml', 'containerPort: 8080', 'containerPort: "eighty"'),
      /Deployment\/gateway-service.*schema/,
    ],
    [
      'a Dapr schema violation',
      (r: string) => replaceIn(r, 'k8s/base/dapr/resiliency.yaml', 'maxRetries: 2', 'maxRetries: [2]'),
      /Resiliency\/context-qa.*schema/,
    ],
    [
      'a writable root filesystem',
      (r: string) =>
        replaceIn(r, 'k8s/base/gateway.yaml', 'readOnlyRootFilesystem: true', 'readOnlyRootFilesystem: false'),
      /readOnlyRootFilesystem must be true/,
    ],
    [
      'a missing Dapr annotation',
      (r: string) => replaceIn(r, 'k8s/base/ai-core.yaml', /^\s+dapr\.io\/app-token-secret: .*\n/m, ''),
      /ai-core needs dapr.io\/app-token-secret/,
    ],
    [
      'a node overlay change outside its allow-list',
      (r: string) =>
        replaceIn(r, 'k8s/overlays/node/kustomization.yaml', '/data/AZURE_OPENAI_ENDPOINT', '/data/MODEL_TIMEOUT_MS'),
      /k8s\/overlays\/node differs from k8s\/overlays\/eks at ConfigMap\/ai-core-config \/data\/MODEL_TIMEOUT_MS/,
    ],
    [
      'a missing probe',
      (r: string) => replaceIn(r, 'k8s/base/gateway.yaml', 'path: /readyz', 'path: /'),
      /readinessProbe must GET \/readyz/,
    ],
    [
      'a plaintext password',
      (r: string) =>
        replaceIn(
          r,
          'components/eks/context-cache.yaml',
          /secretKeyRef:\n\s+name: context-qa-redis\n\s+key: password/,
          'value: hunter2',
        ),
      /redisPassword has a plain value/,
    ],
    [
      'a component missing from one set',
      (r: string) => rmSync(path.join(r, 'components/memory/context-store.yaml')),
      /components\/memory: has no component "context-store"/,
    ],
    [
      'a scope with a wrong app id',
      (r: string) => replaceIn(r, 'components/local/context-cache.yaml', '  - ai-core-service', '  - ai-core'),
      /scope ai-core is not a real app id/,
    ],
    [
      'an access-control policy for a wrong app id',
      (r: string) => replaceIn(r, 'k8s/base/dapr/configuration.yaml', 'appId: gateway-service', 'appId: gateway'),
      /policy for unknown app id gateway/,
    ],
    [
      'a leaked AWS key',
      (r: string) =>
        replaceIn(r, 'components/local/context-store.yaml', 'value: us-east-1', 'value: AKIAABCDEFGHIJKLMNOP'),
      /contains an AWS access key id/,
    ],
    [
      'an access-control policy without a route the gateway calls',
      (r: string) =>
        replaceIn(r, 'k8s/base/dapr/configuration.yaml', /^\s+- name: \/v1\/chat\/completions\n.*\n.*\n/m, ''),
      /policy gateway-service: does not allow POST \/v1\/chat\/completions, which the gateway calls/,
    ],
    [
      'an access-control policy with a verb the gateway does not use',
      (r: string) => replaceIn(r, 'k8s/base/dapr/configuration.yaml', 'httpVerb: ["GET"]', 'httpVerb: ["GET", "POST"]'),
      /policy gateway-service: allows POST \/v1\/models, which the gateway never calls/,
    ],
    [
      'an access-control policy with a route that is not in the contract',
      (r: string) =>
        replaceIn(
          r,
          'k8s/base/dapr/configuration.yaml',
          /^(\s+)- name: \/v1\/models\n/m,
          '$1- name: /v1/usage\n$1  httpVerb: ["GET"]\n$1  action: allow\n$&',
        ),
      /policy gateway-service: allows GET \/v1\/usage, which the gateway never calls/,
    ],
    [
      'an access-control policy with a route prefix wider than the gateway calls',
      (r: string) => replaceIn(r, 'k8s/base/dapr/configuration.yaml', 'name: /v1/models', 'name: /v1'),
      /policy gateway-service: allows GET \/v1, which the gateway never calls/,
    ],
    [
      'an IAM policy without the action a Bedrock command needs',
      (r: string) => replaceIn(r, 'k8s/aws/ai-core-policy.json', ', "bedrock:InvokeModelWithResponseStream"', ''),
      /ai-core-policy.json: a Bedrock statement lacks bedrock:InvokeModelWithResponseStream, which ai-core's ConverseStreamCommand needs/,
    ],
    [
      'an IAM policy with a Bedrock action no command needs',
      (r: string) =>
        replaceIn(
          r,
          'k8s/aws/ai-core-policy.json',
          '"bedrock:InvokeModel",',
          '"bedrock:InvokeModel", "bedrock:ListFoundationModels",',
        ),
      /grants bedrock:ListFoundationModels, which no command ai-core sends needs/,
    ],
    [
      'a Bedrock command whose IAM action the check does not know',
      (r: string) =>
        replaceIn(
          r,
          'ai-core-service/src/adapters/models/bedrock.ts',
          'new ConverseCommand(',
          'new ApplyGuardrailCommand(',
        ),
      /bedrock.ts: sends ApplyGuardrailCommand, whose IAM action manifest-check does not know/,
    ],
  ])('when a manifest has %s, then the check fails and says why', (_what, edit, message) => {
    const { code, out } = broken(edit);
    expect(out).toMatch(message);
    expect(code).toBe(1);
  });
});

describe('Dockerfiles', () => {
  const hadolint = path.join(repoRoot, '.tools/hadolint/bin/hadolint');

  test.each(['gateway-service', 'ai-core-service'])(
    'when %s/Dockerfile is linted offline (hadolint), then it is clean',
    (service) => {
      const r = spawnSync(hadolint, [path.join(repoRoot, service, 'Dockerfile')], { encoding: 'utf8' });
      expect(`${r.stdout}${r.stderr}`).toBe('');
      expect(r.status).toBe(0);
    },
  );

  test('when a Dockerfile breaks a rule, then hadolint reports it', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'dockerfile-'));
    writeFileSync(path.join(dir, 'Dockerfile'), 'FROM node:latest\nRUN cd /app && npm install\n');
    const r = spawnSync(hadolint, [path.join(dir, 'Dockerfile')], { encoding: 'utf8' });
    rmSync(dir, { recursive: true });
    expect(r.stdout).toMatch(/DL3007/); // latest tag
    expect(r.status).not.toBe(0);
  });

  test.each(['gateway-service', 'ai-core-service'])(
    'when %s/Dockerfile is read, then it is multi-stage, Node 24, non-root and ships no dev dependencies',
    (service) => {
      const text = readFileSync(path.join(repoRoot, service, 'Dockerfile'), 'utf8');
      expect(text.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
      expect(text).toMatch(/node:24|nodejs24/);
      expect(text).toMatch(/:nonroot/);
      expect(text).toMatch(/--omit=dev/);
      expect(text).not.toMatch(/^(ENV|ARG) .*(KEY|TOKEN|SECRET|PASSWORD)/im);
    },
  );
});
