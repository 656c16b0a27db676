/**
 * The EKS posture rules: placeholders (template vs deployable), NetworkPolicy breadth,
 * one Dapr token per sidecar, admin routes off the public ALB. Each rule is shown to
 * catch the breakage it exists for, on a copy of the manifests broken on purpose.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '@context-qa/testkit';
import { check, replaceIn, scratchCopies } from './harness';

/** What an operator fills in (docs/deploy-eks.md, step 6): every placeholder of the overlays. */
const FILLED: Record<string, string> = {
  ACCOUNT_ID: '123456789012',
  CERTIFICATE_ID: '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0',
  ADMIN_CERTIFICATE_ID: '1a2b3c4d-5e6f-7081-92a3-b4c5d6e7f809',
  'YOUR-RESOURCE': 'contoso-gpt',
  ELASTICACHE_PRIMARY_ENDPOINT: 'master.context-qa.abc123.use1.cache.amazonaws.com',
  ALB_SUBNET_CIDR_A: '10.0.0.0/24',
  ALB_SUBNET_CIDR_B: '10.0.1.0/24',
  KUBE_API_SERVICE_IP: '172.20.0.1',
  CLUSTER_SUBNET_CIDR_A: '10.0.16.0/20',
  CLUSTER_SUBNET_CIDR_B: '10.0.32.0/20',
  ELASTICACHE_SUBNET_CIDR_A: '10.0.48.0/24',
  ELASTICACHE_SUBNET_CIDR_B: '10.0.49.0/24',
  AWS_ENDPOINT_SUBNET_CIDR_A: '10.0.50.0/24',
  AWS_ENDPOINT_SUBNET_CIDR_B: '10.0.51.0/24',
  INTERNAL_ALB_SUBNET_CIDR_A: '10.0.64.0/24',
  INTERNAL_ALB_SUBNET_CIDR_B: '10.0.65.0/24',
  ADMIN_CLIENT_CIDR: '10.8.0.0/16',
};
const OVERLAYS = ['k8s/overlays/eks', 'k8s/overlays/eks-admin-alb'];
const DEPLOYABLE = OVERLAYS.map((o) => `--deployable=${o}`);

function fillPlaceholders(root: string): void {
  for (const dir of OVERLAYS.map((o) => path.join(root, o))) {
    for (const file of readdirSync(dir).map((f) => path.join(dir, f))) {
      const text = Object.entries(FILLED).reduce(
        (t, [placeholder, value]) => t.replace(new RegExp(`\\b${placeholder}\\b`, 'g'), value),
        readFileSync(file, 'utf8'),
      );
      writeFileSync(file, text);
    }
  }
}

describe('EKS posture', () => {
  const { broken, copyWith, cleanup } = scratchCopies();
  afterAll(cleanup);
  const brokenAndFilled = (edit: (root: string) => void) =>
    broken((r) => (fillPlaceholders(r), edit(r)), ...DEPLOYABLE);

  describe('placeholders', () => {
    test('when the committed overlays are checked as templates, then their placeholders are allowed and counted', () => {
      const { code, out } = check(repoRoot);
      expect(out).toMatch(/k8s\/overlays\/eks: a template, \d+ placeholders left/);
      expect(out).toMatch(/0 problems/);
      expect(code).toBe(0);
    });

    test('when the committed overlay is checked as deployable, then each placeholder is a problem', () => {
      const { code, out } = check(repoRoot, '--deployable=k8s/overlays/eks');
      for (const p of [
        'ACCOUNT_ID',
        'CERTIFICATE_ID',
        'YOUR-RESOURCE',
        'ELASTICACHE_PRIMARY_ENDPOINT',
        'ALB_SUBNET_CIDR_A',
        'KUBE_API_SERVICE_IP',
      ]) {
        expect(out).toMatch(new RegExp(`\\(kustomize build k8s/overlays/eks\\): placeholder .*\\b${p}\\b`));
      }
      expect(code).toBe(1);
    });

    test('when every placeholder is filled in, then both overlays are deployable', () => {
      const { code, out } = check(copyWith(fillPlaceholders), ...DEPLOYABLE);
      expect(out).toMatch(/0 problems/);
      expect(out).not.toMatch(/overlays\/[\w-]+: a template/);
      expect(code).toBe(0);
    });

    test('when the deploy guide is read, then it names every placeholder an operator must fill in', () => {
      const guide = readFileSync(path.join(repoRoot, 'docs/deploy-eks.md'), 'utf8');
      const named = (p: string) => new RegExp(`\`(${p}|${p.replace(/_[AB]$/, '_A/B')})\``).test(guide);
      expect(Object.keys(FILLED).filter((p) => !named(p))).toEqual([]);
    });

    test('when one placeholder is left, then the deployable check names exactly that one', () => {
      const { code, out } = brokenAndFilled((r) =>
        replaceIn(
          r,
          'k8s/overlays/eks/kustomization.yaml',
          'https://contoso-gpt.openai.azure.com',
          'https://YOUR-RESOURCE.openai.azure.com',
        ),
      );
      expect(out).toMatch(
        /ConfigMap\/ai-core-config \(kustomize build k8s\/overlays\/eks\): placeholder YOUR-RESOURCE not replaced/,
      );
      expect(out.match(/not replaced/g)).toHaveLength(2); // once per overlay that renders it
      expect(code).toBe(1);
    });

    test('when a filled-in CIDR is mistyped, then the deployable check says it is not a CIDR', () => {
      const { code, out } = brokenAndFilled((r) =>
        replaceIn(r, 'k8s/overlays/eks/networkpolicies.yaml', '10.0.48.0/24', '10.0.48/24'),
      );
      expect(out).toMatch(/NetworkPolicy\/ai-core-aws-egress.*ipBlock 10\.0\.48\/24 is not a CIDR/);
      expect(code).toBe(1);
    });
  });

  const policies = 'k8s/overlays/eks/networkpolicies.yaml';
  test.each([
    [
      'an ingress CIDR as wide as the VPC',
      (r: string) => replaceIn(r, policies, 'ALB_SUBNET_CIDR_A', '10.0.0.0/16'),
      /NetworkPolicy\/gateway-from-alb.*ingress from 10\.0\.0\.0\/16 is VPC-sized or wider/,
    ],
    [
      'ingress from anywhere',
      (r: string) => replaceIn(r, policies, 'ALB_SUBNET_CIDR_A', '0.0.0.0/0'),
      /ingress from 0\.0\.0\.0\/0 is VPC-sized or wider/,
    ],
    [
      'an ingress rule without `from`',
      (r: string) =>
        replaceIn(r, policies, /- from:\n(\s+- ipBlock:\n\s+cidr: ALB_SUBNET_CIDR_.\n)+\s+ports:/, '- ports:'),
      /gateway-from-alb.*ingress rule without `from` admits every source/,
    ],
    [
      'an egress CIDR as wide as the VPC',
      (r: string) => replaceIn(r, policies, 'ELASTICACHE_SUBNET_CIDR_A', '10.0.0.0/16'),
      /ai-core-aws-egress.*egress to 10\.0\.0\.0\/16 is VPC-sized or wider/,
    ],
    [
      'HTTPS egress to any address',
      (r: string) =>
        replaceIn(
          r,
          'k8s/base/networkpolicies.yaml',
          /( {2}egress:\n)(?![\s\S]* {2}egress:\n)/,
          '$1    - ports:\n        - port: 443\n',
        ),
      /NetworkPolicy\/ai-core-service.*egress rule without `to` reaches every address/,
    ],
    [
      'internet egress without a reason',
      (r: string) =>
        replaceIn(
          r,
          policies,
          / {2}annotations:\n {4}context-qa\/internet-egress-reason: [^\n]*\n[^\n]*\n[^\n]*\n/,
          '',
        ),
      /ai-core-azure-openai-egress.*needs annotation context-qa\/internet-egress-reason/,
    ],
    [
      'internet egress into a private range',
      (r: string) => replaceIn(r, policies, /\s+- 10\.0\.0\.0\/8/, ''),
      /ai-core-azure-openai-egress.*must except the private ranges \(missing 10\.0\.0\.0\/8\)/,
    ],
    [
      'internet egress on every port',
      (r: string) => replaceIn(r, policies, /(169\.254\.0\.0\/16)\n\s+ports:\n\s+- port: 443\n?/, '$1\n'),
      /ai-core-azure-openai-egress.*must name its ports/,
    ],
    [
      'both sidecars on one API token',
      (r: string) => replaceIn(r, 'k8s/base/ai-core.yaml', /ai-core-dapr-api-token/g, 'gateway-dapr-api-token'),
      /shares Dapr API token secret gateway-dapr-api-token with Deployment\/(gateway|ai-core)-service/,
    ],
    [
      "an app reading the other sidecar's token",
      (r: string) =>
        replaceIn(
          r,
          'k8s/base/gateway.yaml',
          /(DAPR_API_TOKEN\n\s+valueFrom:\n\s+secretKeyRef:\n\s+name: )gateway-dapr-api-token/,
          '$1ai-core-dapr-api-token',
        ),
      /gateway-service.*DAPR_API_TOKEN must come from secret gateway-dapr-api-token \(its sidecar's\), not ai-core-dapr-api-token/,
    ],
    [
      'an app token that is also an API token',
      (r: string) => replaceIn(r, 'k8s/base/ai-core.yaml', /ai-core-dapr-app-token/g, 'gateway-dapr-api-token'),
      /app token secret gateway-dapr-api-token is also the API token of Deployment\/gateway-service/,
    ],
    [
      'a gateway without ADMIN_PORT',
      (r: string) => replaceIn(r, 'k8s/base/gateway.yaml', /\s+- name: ADMIN_PORT\n\s+value: "8082"/, ''),
      /gateway must set ADMIN_PORT/,
    ],
    [
      'ADMIN_PORT apart from the admin containerPort',
      (r: string) => replaceIn(r, 'k8s/base/gateway.yaml', 'value: "8082"', 'value: "8083"'),
      /ADMIN_PORT 8083 must be the containerPort named admin \(8082\)/,
    ],
    [
      'the public Ingress routing to the admin Service',
      (r: string) =>
        replaceIn(
          r,
          'k8s/overlays/eks/ingress.yaml',
          /name: gateway-service\n(\s+)port:\n\s+name: http/,
          'name: gateway-admin\n$1port:\n$1  name: admin',
        ),
      /Ingress\/gateway-service.*routes to gateway-admin; only gateway-service may be public/,
    ],
    [
      'the admin port on the public Service',
      (r: string) =>
        replaceIn(
          r,
          'k8s/base/gateway.yaml',
          /( {6}targetPort: http\n)/,
          '$1    - name: admin\n      port: 8082\n      targetPort: admin\n',
        ),
      /Ingress\/gateway-service.*is public but Service\/gateway-service exposes the gateway's admin port/,
    ],
    [
      'the admin Ingress made internet-facing',
      (r: string) =>
        replaceIn(r, 'k8s/overlays/eks-admin-alb/admin-ingress.yaml', 'scheme: internal', 'scheme: internet-facing'),
      /Ingress\/gateway-admin.*routes to gateway-admin; only gateway-service may be public/,
    ],
    [
      'an overlay without a namespace',
      (r: string) => replaceIn(r, 'k8s/overlays/eks/kustomization.yaml', 'namespace: context-qa\n', ''),
      /NetworkPolicy\/gateway-from-alb \(kustomize build k8s\/overlays\/eks\): is in namespace \(none\), not context-qa/,
    ],
  ])('when the manifests have %s, then the check fails and says why', (_what, edit, message) => {
    const { code, out } = broken(edit);
    expect(out).toMatch(message);
    expect(code).toBe(1);
  });
});
