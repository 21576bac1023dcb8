// Validates sevex STIX 2.1 bundles object by object against the OASIS STIX 2.1 JSON schemas
// (cti-stix2-json-schemas, JSON Schema 2020-12), and each incident's extension properties
// against the schemas of the extensions they claim.
//
//   node validate.mjs SCHEMA_DIR BUNDLE.json...
//
// The OASIS bundle schema does not list `incident`, so the bundle is checked for its own shape
// and each object against the schema of its type. Exit 0 when every object of every bundle is
// valid; 1 with one line per problem otherwise.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const here = dirname(fileURLToPath(import.meta.url));
const [schemaDir, ...bundles] = process.argv.slice(2);
if (!schemaDir || bundles.length === 0) {
  console.error('usage: node validate.mjs SCHEMA_DIR BUNDLE.json...');
  process.exit(2);
}

const ajv = new Ajv2020({ strict: false, unicodeRegExp: false, allErrors: true });
addFormats(ajv);

// Every schema file, so that relative $refs (../common/core.json) resolve against their $id.
const byPath = new Map();
function load(dir) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) load(p);
    else if (name.endsWith('.json')) {
      const schema = JSON.parse(readFileSync(p, 'utf8'));
      ajv.addSchema(schema);
      byPath.set(relative(schemaDir, p), schema.$id);
    }
  }
}
load(schemaDir);

function validatorFor(type) {
  for (const folder of ['sdos', 'sros', 'common', 'observables']) {
    const id = byPath.get(`${folder}/${type}.json`);
    if (id) return ajv.getSchema(id);
  }
  return null;
}

// Extension property schemas: the Incident Core Extension (the properties sevex emits, with
// the types and vocabularies of the OASIS extension definition) and the sevex extension.
const extensionSchemas = {
  'extension-definition--ef765651-680c-498d-9894-99799f2fa126':
      ajv.compile(JSON.parse(readFileSync(join(here, 'incident-core-extension.schema.json'), 'utf8'))),
  'extension-definition--4f0a6f1e-5c2b-5d8e-9a7c-3b1d2e4f6a80':
      ajv.compile(JSON.parse(readFileSync(join(here, 'sevex-assessment-extension.schema.json'), 'utf8'))),
};

const TLP2 = new Set([
  'marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487',
  'marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb',
  'marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421',
  'marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003',
  'marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1',
]);

function findKey(value, key, path, out) {
  if (Array.isArray(value)) value.forEach((v, i) => findKey(v, key, `${path}[${i}]`, out));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === key) out.push(`${path}.${k}`);
      findKey(v, key, `${path}.${k}`, out);
    }
  }
}

const problems = [];
let objects = 0;
let incidents = 0;
for (const file of bundles) {
  const bundle = JSON.parse(readFileSync(file, 'utf8'));
  if (bundle.type !== 'bundle' || !/^bundle--[0-9a-f-]{36}$/.test(bundle.id ?? '') || !Array.isArray(bundle.objects)) {
    problems.push(`${file}: not a STIX bundle (type, id, objects)`);
    continue;
  }
  const ids = new Map(bundle.objects.map((o) => [o.id, o]));
  for (const [i, o] of bundle.objects.entries()) {
    const where = `${file}: objects[${i}] ${o.id}`;
    objects++;
    const validate = validatorFor(o.type);
    if (!validate) {
      problems.push(`${where}: no OASIS schema for type '${o.type}'`);
      continue;
    }
    if (!validate(o)) {
      for (const e of validate.errors) problems.push(`${where}: ${e.instancePath || '/'} ${e.message} (${e.schemaPath})`);
    }
    const severity = [];
    findKey(o, 'severity', o.id, severity);
    for (const p of severity) problems.push(`${where}: property 'severity' (reserved by STIX 2.1) at ${p}`);
    if (o.created_by_ref && ids.get(o.created_by_ref)?.type !== 'identity') {
      problems.push(`${where}: created_by_ref ${o.created_by_ref} is not an identity in the bundle`);
    }
    for (const m of o.object_marking_refs ?? []) {
      if (!TLP2.has(m)) problems.push(`${where}: marking ${m} is not a TLP 2.0 marking definition`);
      if (!ids.has(m)) problems.push(`${where}: marking ${m} is not defined in the bundle`);
    }
    if (o.type === 'incident') {
      incidents++;
      for (const ext of Object.keys(extensionSchemas)) {
        const x = o.extensions?.[ext];
        if (!x) {
          problems.push(`${where}: no ${ext}`);
          continue;
        }
        if (!extensionSchemas[ext](x)) {
          for (const e of extensionSchemas[ext].errors) problems.push(`${where}: extensions.${ext}${e.instancePath} ${e.message}`);
        }
      }
      if (!ids.has('extension-definition--4f0a6f1e-5c2b-5d8e-9a7c-3b1d2e4f6a80')) {
        problems.push(`${where}: the sevex extension-definition is not in the bundle`);
      }
    }
  }
}
for (const p of problems) console.error(p);
console.log(`${bundles.length} bundles, ${objects} objects (${incidents} incidents): ${problems.length} problems`);
process.exit(problems.length === 0 ? 0 : 1);
