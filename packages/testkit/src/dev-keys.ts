/**
 * The published dev API keys and components/dev-secrets.json, the local secret store holding their hashes
 * (the stacks' default secrets). Valid in local dev only (the gateway's LOCAL_DEV).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './paths';

/**
 * The local-only API keys whose SHA-256 hashes are pre-set in
 * components/dev-secrets.json (the local secret store file). Printed by
 * `make dev`; never valid anywhere else. A test checks the two stay in step.
 */
export const DEV_KEYS = {
  ask: 'cqa_dev_ask_8f2c1e5a9b7d4c3e',
  admin: 'cqa_dev_admin_4b6d2f9e1a3c5e7d',
} as const;

export const DEV_SECRETS_FILE = path.join(repoRoot, 'components', 'dev-secrets.json');

export const devSecrets = (): Record<string, string> =>
  JSON.parse(readFileSync(DEV_SECRETS_FILE, 'utf8')) as Record<string, string>;
