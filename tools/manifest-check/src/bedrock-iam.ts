/**
 * ai-core's IAM policy (k8s/aws/ai-core-policy.json) grants the Bedrock action of every
 * SDK command the code sends. Locally the simulator accepts any signed call, so a
 * missing action shows only on EKS: every such call fails as `unauthorized` and counts
 * against the model's breaker (ConverseStream without InvokeModelWithResponseStream did).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** The IAM action each Bedrock runtime command needs (Bedrock API reference). */
export const BEDROCK_ACTIONS: Record<string, string> = {
  ConverseCommand: 'bedrock:InvokeModel',
  ConverseStreamCommand: 'bedrock:InvokeModelWithResponseStream',
  InvokeModelCommand: 'bedrock:InvokeModel',
  InvokeModelWithResponseStreamCommand: 'bedrock:InvokeModelWithResponseStream',
};

const SOURCES = 'ai-core-service/src';
export const AI_CORE_POLICY = 'k8s/aws/ai-core-policy.json';
const BEDROCK_SDK = '@aws-sdk/client-bedrock-runtime';

interface Statement {
  Effect?: string;
  Action?: string | string[];
}

/** Each `new XxxCommand(` in ai-core's sources that import the Bedrock runtime SDK, with its file. */
export function bedrockCommands(root: string): { command: string; source: string }[] {
  const files = readdirSync(path.join(root, SOURCES), { recursive: true, encoding: 'utf8' }).filter((f) =>
    f.endsWith('.ts'),
  );
  return files.flatMap((f) => {
    const source = path.join(SOURCES, f);
    const text = readFileSync(path.join(root, source), 'utf8');
    if (!text.includes(`'${BEDROCK_SDK}'`)) return [];
    return [...text.matchAll(/\bnew\s+(\w+Command)\s*\(/g)].map((m) => ({ command: m[1]!, source }));
  });
}

export function checkBedrockIam(root: string): string[] {
  const problems: string[] = [];
  const statements =
    (JSON.parse(readFileSync(path.join(root, AI_CORE_POLICY), 'utf8')) as { Statement?: Statement[] }).Statement ?? [];
  const bedrock = statements
    .filter((s) => s.Effect === 'Allow')
    .map((s) => [s.Action ?? []].flat())
    .filter((actions) => actions.some((a) => a.startsWith('bedrock:')));
  /** action → the commands sent that need it */
  const needed = new Map<string, Set<string>>();
  for (const { command, source } of bedrockCommands(root)) {
    const action = BEDROCK_ACTIONS[command];
    if (action) needed.set(action, (needed.get(action) ?? new Set()).add(command));
    else
      problems.push(
        `${source}: sends ${command}, whose IAM action manifest-check does not know: add it to BEDROCK_ACTIONS (tools/manifest-check/src/bedrock-iam.ts)`,
      );
  }
  if (needed.size > 0 && bedrock.length === 0)
    problems.push(`${AI_CORE_POLICY}: no statement allows Bedrock, which ai-core calls`);
  // Every Bedrock statement, so each action covers the same models (resources) as the others.
  for (const actions of bedrock) {
    for (const [a, commands] of needed) {
      if (!actions.includes(a))
        problems.push(
          `${AI_CORE_POLICY}: a Bedrock statement lacks ${a}, which ai-core's ${[...commands].join(' and ')} needs`,
        );
    }
    for (const a of actions)
      if (a.startsWith('bedrock:') && !needed.has(a))
        problems.push(`${AI_CORE_POLICY}: grants ${a}, which no command ai-core sends needs`);
  }
  return problems;
}
