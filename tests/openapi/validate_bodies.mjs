// Validates recorded HTTP bodies against the schemas of an OpenAPI 3.1 document with Ajv
// (JSON Schema 2020-12, strict).
//
//   node validate_bodies.mjs DOCUMENT.json RECORDS.json
//
// RECORDS: [{"name", "path", "kind": "request" | "response", "status", "content_type", "body"}]
// (status and content_type for responses). Prints one JSON array, a result per record, in
// order: {"name", "valid", "errors": [Ajv's errors], "schema_error": why there was no schema}.
// Exit 0 when every record could be checked (valid or not: the caller judges), 1 otherwise.
import { readFileSync } from "node:fs";
import { newAjv, requestSchema, responseSchema, standalone } from "./openapi_ajv.mjs";

const [docPath, recordsPath] = process.argv.slice(2);
if (!docPath || !recordsPath) {
  console.error("usage: node validate_bodies.mjs DOCUMENT.json RECORDS.json");
  process.exit(2);
}
const doc = JSON.parse(readFileSync(docPath, "utf8"));
const records = JSON.parse(readFileSync(recordsPath, "utf8"));
const ajv = newAjv();

let unchecked = 0;
const results = records.map((r) => {
  try {
    const schema = r.kind === "request"
      ? requestSchema(doc, r.path, r.content_type ?? "application/json")
      : responseSchema(doc, r.path, r.status, r.content_type);
    const validate = ajv.compile(standalone(doc, schema));
    const valid = validate(r.body);
    return { name: r.name, valid, errors: validate.errors ?? [] };
  } catch (e) {
    unchecked++;
    return { name: r.name, valid: false, errors: [], schema_error: String(e?.message ?? e) };
  }
});
console.log(JSON.stringify(results, null, 1));
process.exit(unchecked ? 1 : 0);
