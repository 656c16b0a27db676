/**
 * Schema validation, offline: Kubernetes kinds through kubernetes-models (the
 * OpenAPI schemas ship in the npm package), Dapr kinds through the Dapr CRDs
 * vendored in k8s/schemas/dapr (taken from dapr v1.18.3's Helm chart).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Ajv, { type SchemaObject, type ValidateFunction } from 'ajv';
import { parse } from 'yaml';
import type { Doc } from './load';

export function daprValidators(schemaDir: string): Map<string, ValidateFunction> {
  // Formats (int32, date-time…) are not what these checks are about; the API server enforces them.
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  const out = new Map<string, ValidateFunction>();
  for (const file of readdirSync(schemaDir).filter((f) => f.endsWith('.yaml'))) {
    const crd = parse(readFileSync(path.join(schemaDir, file), 'utf8')) as Crd;
    for (const v of crd.spec.versions) {
      out.set(
        `${crd.spec.group}/${v.name}/${crd.spec.names.kind}`,
        ajv.compile(withIntOrString(v.schema.openAPIV3Schema) as SchemaObject),
      );
    }
  }
  return out;
}

/** The fields of a CustomResourceDefinition read here. */
interface Crd {
  spec: { group: string; names: { kind: string }; versions: { name: string; schema: { openAPIV3Schema: unknown } }[] };
}

/** OpenAPI's x-kubernetes-int-or-string has no JSON-schema type; accept both. */
function withIntOrString(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withIntOrString);
  if (schema === null || typeof schema !== 'object') return schema;
  const copy: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) copy[k] = withIntOrString(v);
  if (copy['x-kubernetes-int-or-string']) {
    delete copy['type'];
    copy['anyOf'] = [{ type: 'integer' }, { type: 'string' }];
  }
  return copy;
}

type Model = new (o: unknown) => { validate(): void };

/** kubernetes-models is ESM-only (import condition only): load each apiVersion once with import(). */
export async function kubernetesModels(docs: Doc[]): Promise<Map<string, Record<string, Model>>> {
  const versions = new Set(
    docs.map((d) => d.obj['apiVersion']).filter((v): v is string => typeof v === 'string' && !v.startsWith('dapr.io/')),
  );
  const out = new Map<string, Record<string, Model>>();
  for (const v of versions) {
    try {
      out.set(v, (await import(`kubernetes-models/${v}`)) as Record<string, Model>);
    } catch {
      // unknown group/version: reported per document below
    }
  }
  return out;
}

/** Validates one document; returns the problems (empty when valid). */
export function validateSchema(
  doc: Doc,
  dapr: Map<string, ValidateFunction>,
  k8s: Map<string, Record<string, Model>>,
): string[] {
  const { apiVersion, kind } = doc.obj as { apiVersion?: string; kind?: string };
  if (!apiVersion || !kind) return ['no apiVersion/kind'];
  const daprCheck = dapr.get(`${apiVersion}/${kind}`);
  if (daprCheck) {
    return daprCheck(doc.obj) ? [] : (daprCheck.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}`);
  }
  const Model = k8s.get(apiVersion)?.[kind];
  if (!Model) return [`no schema for ${apiVersion} ${kind}`];
  try {
    new Model(doc.obj).validate();
    return [];
  } catch (err) {
    return [(err as Error).message];
  }
}
