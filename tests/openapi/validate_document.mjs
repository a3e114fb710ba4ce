// Validates OpenAPI 3.1 documents with two validators written by others, and compiles every
// schema in them with strict Ajv (JSON Schema 2020-12).
//
//   node validate_document.mjs DOCUMENT.json...
//
// Prints one JSON object per document: {"file", "swagger_parser": "ok" | why,
// "schema_validator": "ok" | [errors], "ajv_strict": "ok" | [why per schema]}. Exit 0 when
// every check of every document passed, 1 otherwise.
import { readFileSync } from "node:fs";
import SwaggerParser from "@apidevtools/swagger-parser";
import { Validator } from "@seriousme/openapi-schema-validator";
import { newAjv, resolve, standalone } from "./openapi_ajv.mjs";

// Every schema object the document's operations use, and every component schema.
function everySchema(doc) {
  const out = [];
  for (const [name, s] of Object.entries(doc.components?.schemas ?? {})) out.push([`#/components/schemas/${name}`, s]);
  for (const [path, rawItem] of Object.entries(doc.paths ?? {})) {
    const item = resolve(doc, rawItem);
    for (const [method, op] of Object.entries(item)) {
      if (typeof op !== "object" || !op || !("responses" in op)) continue;
      const where = `${method.toUpperCase()} ${path}`;
      for (const p of op.parameters ?? []) {
        const param = resolve(doc, p);
        if (param.schema) out.push([`${where} parameter ${param.name}`, param.schema]);
      }
      const body = resolve(doc, op.requestBody);
      for (const [type, media] of Object.entries(body?.content ?? {})) out.push([`${where} request ${type}`, media.schema]);
      for (const [status, rawResponse] of Object.entries(op.responses)) {
        const response = resolve(doc, rawResponse);
        for (const [type, media] of Object.entries(response.content ?? {})) {
          out.push([`${where} response ${status} ${type}`, media.schema]);
        }
        for (const [name, h] of Object.entries(response.headers ?? {})) {
          const header = resolve(doc, h);
          if (header.schema) out.push([`${where} response ${status} header ${name}`, header.schema]);
        }
      }
    }
  }
  return out;
}

let failed = false;
for (const file of process.argv.slice(2)) {
  const text = readFileSync(file, "utf8");
  const report = { file };
  try {
    // validate() dereferences the object it is given: each tool gets its own copy.
    await SwaggerParser.validate(JSON.parse(text));
    report.swagger_parser = "ok";
  } catch (e) {
    report.swagger_parser = String(e?.message ?? e);
  }
  const result = await new Validator().validate(JSON.parse(text));
  report.schema_validator = result.valid ? "ok" : result.errors;
  const doc = JSON.parse(text);
  const ajvErrors = [];
  for (const [where, schema] of everySchema(doc)) {
    if (schema === undefined) {
      ajvErrors.push(`${where}: no schema`);
      continue;
    }
    try {
      newAjv().compile(standalone(doc, schema));
    } catch (e) {
      ajvErrors.push(`${where}: ${e?.message ?? e}`);
    }
  }
  report.ajv_strict = ajvErrors.length ? ajvErrors : "ok";
  failed ||= report.swagger_parser !== "ok" || report.schema_validator !== "ok" || report.ajv_strict !== "ok";
  console.log(JSON.stringify(report));
}
process.exit(failed ? 1 : 0);
