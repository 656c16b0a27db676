/**
 * Placeholders an operator must replace before an overlay is deployed: UPPER_SNAKE words
 * (`ACCOUNT_ID`, `ALB_SUBNET_CIDR_A`) and `YOUR-…` names. Left in, they deploy as live
 * values (`https://YOUR-RESOURCE.openai.azure.com` is a valid URL).
 */
const PLACEHOLDER = /\b(?:[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|YOUR[-_][A-Z0-9_-]+)\b/g;

/** Environment variable names are UPPER_SNAKE by convention, not placeholders. */
const isEnvVarName = (path: (string | number)[]) =>
  path.at(-1) === 'envRef' || (path.at(-1) === 'name' && typeof path.at(-2) === 'number' && path.at(-3) === 'env');

/** Every placeholder in the string values of an object (keys are never placeholders). */
export function placeholdersIn(value: unknown, path: (string | number)[] = []): string[] {
  if (typeof value === 'string') return isEnvVarName(path) ? [] : (value.match(PLACEHOLDER) ?? []);
  if (Array.isArray(value)) return value.flatMap((v, i) => placeholdersIn(v, [...path, i]));
  if (value !== null && typeof value === 'object')
    return Object.entries(value).flatMap(([k, v]) => placeholdersIn(v, [...path, k]));
  return [];
}
