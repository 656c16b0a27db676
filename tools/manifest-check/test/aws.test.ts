/** The IAM and DynamoDB documents stay least-privilege and in step with the manifests. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { repoRoot } from '@context-qa/testkit';
import type { Manifest } from '../src/load';

/** The fields of the IAM documents this test reads. */
interface Statement {
  Sid: string;
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
  Condition?: { StringEquals: Record<string, string> };
}
interface Policy {
  Statement: Statement[];
}
interface TableDefinition {
  TableName: string;
  KeySchema: { AttributeName: string; KeyType: string }[];
}
type ConfigMap = Manifest & { data: { BEDROCK_MODEL_ID: string } };

const json = <T>(f: string) => JSON.parse(readFileSync(path.join(repoRoot, 'k8s/aws', f), 'utf8')) as T;
const yaml = (f: string) =>
  parseAllDocuments(readFileSync(path.join(repoRoot, f), 'utf8')).map((d) => d.toJS() as Manifest);
const metaValue = (component: Manifest, name: string) => component.spec!.metadata!.find((m) => m.name === name)?.value;

describe('AWS documents', () => {
  const policy = json<Policy>('ai-core-policy.json');
  const statements: Statement[] = policy.Statement;
  const store = yaml('components/eks/context-store.yaml')[0]!;

  test('when the ai-core policy is read, then it allows exactly item reads/writes on the one table and InvokeModel (with its streamed form)', () => {
    const actions = statements.flatMap((s) => s.Action).sort();
    expect(actions).toEqual([
      'bedrock:InvokeModel',
      'bedrock:InvokeModelWithResponseStream',
      'dynamodb:DeleteItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
    ]);
    expect(statements.every((s) => s.Effect === 'Allow')).toBe(true);
    const resources = statements.flatMap((s) => [s.Resource].flat());
    expect(resources.some((r: string) => r.includes('*'))).toBe(false);
    const table = statements.find((s) => s.Sid === 'ContextTable')!.Resource;
    expect(table).toMatch(new RegExp(`:table/${metaValue(store, 'table')}$`));
  });

  test('when the Bedrock statement is read, then it names the inference profile ai-core is configured with', () => {
    const aiCore = yaml('k8s/base/ai-core.yaml').find((d) => d.kind === 'ConfigMap') as ConfigMap;
    const modelId: string = aiCore.data.BEDROCK_MODEL_ID;
    const bedrock = statements.find((s) => s.Sid === 'Llama4ThroughInferenceProfile')!.Resource as string[];
    expect(bedrock).toContain(`arn:aws:bedrock:us-east-1:ACCOUNT_ID:inference-profile/${modelId}`);
    expect(
      bedrock.filter((r) => r.includes(':foundation-model/')).every((r) => r.endsWith(modelId.replace(/^us\./, ''))),
    ).toBe(true);
  });

  test('when the trust policy is read, then only ai-core-service in its namespace may assume the role', () => {
    const trust = json<Policy>('ai-core-trust-policy.json').Statement[0]!;
    const [ns] = yaml('k8s/base/namespace.yaml');
    const sub = Object.entries(trust.Condition!.StringEquals).find(([k]) => k.endsWith(':sub'))?.[1];
    expect(sub).toBe(`system:serviceaccount:${ns!.metadata!.name}:ai-core-service`);
    expect(trust.Action).toBe('sts:AssumeRoleWithWebIdentity');
  });

  test('when the table definition is read, then its key is the one the Dapr component uses', () => {
    const table = json<TableDefinition>('dynamodb-table.json');
    expect(table.TableName).toBe(metaValue(store, 'table'));
    expect(table.KeySchema).toEqual([{ AttributeName: metaValue(store, 'partitionKey'), KeyType: 'HASH' }]);
  });
});
