/**
 * `make openapi`: writes the OpenAPI documents to docs/ (a unit test fails
 * while the committed files differ from what the schemas generate).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { openApiDocument } from './public';
import { adminOpenApiDocument } from './admin';

/** The committed documents, by path from the repository root. */
export const OPENAPI_FILES = {
  'docs/openapi.json': openApiDocument,
  'docs/openapi-admin.json': adminOpenApiDocument,
};

export const serialise = (doc: object) => `${JSON.stringify(doc, null, 2)}\n`;

if (require.main === module) {
  const root = path.resolve(__dirname, '../../../..');
  for (const [file, build] of Object.entries(OPENAPI_FILES)) {
    writeFileSync(path.join(root, file), serialise(build()));
    console.log(`wrote ${file}`);
  }
}
