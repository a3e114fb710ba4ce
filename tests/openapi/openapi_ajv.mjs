// Ajv (JSON Schema 2020-12, strict) over the schemas of an OpenAPI 3.1 document: the schema a
// request body or a response body of one operation must match, ready to validate.
//
// OpenAPI 3.1 schemas are JSON Schema 2020-12, but their $refs point into the document
// ("#/components/schemas/X"), which is not a schema. Each schema is validated inside a
// wrapper that holds a copy of components.schemas as $defs, with those refs rewritten to
// "#/$defs/X": nothing else of the schemas changes.
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";

const addFormats = addFormatsModule.default ?? addFormatsModule;
const COMPONENT_SCHEMA = "#/components/schemas/";

// Strict mode: an unknown keyword or format, a `required` name that is not a property, an
// ambiguous tuple or a non-finite number in a generated schema is an error here, not silently
// ignored. Allowed: OpenAPI's own schema keywords, the x-* extensions, union types (an
// optional is `type: [T, "null"]`), OpenAPI's integer formats (they only annotate: the
// bounds are in minimum/maximum), and `properties` without `type: "object"` (strictTypes
// off): a fault's schema is `allOf: [pit.Problem, {properties: {code: {enum: [...]}}}]`,
// whose second part narrows an object the first already requires.
export function newAjv() {
  const ajv = new Ajv2020({ strict: true, strictTypes: false, allowUnionTypes: true, allErrors: true });
  addFormats(ajv);
  for (const f of ["int32", "int64", "float", "double"]) ajv.addFormat(f, { type: "number", validate: () => true });
  for (const keyword of ["discriminator", "xml", "externalDocs", "example"]) ajv.addKeyword(keyword);
  return ajv;
}

// Keywords whose value maps names to schemas: a member named x-... there is a field, not an
// extension.
const NAMES_TO_SCHEMAS = new Set(["properties", "patternProperties", "$defs", "dependentSchemas"]);

function rewriteRefs(node, namesToSchemas = false) {
  if (Array.isArray(node)) return node.map((v) => rewriteRefs(v));
  if (node === null || typeof node !== "object") return node;
  const out = {};
  for (const [k, v] of Object.entries(node)) {
    if (k.startsWith("x-") && !namesToSchemas) {
      // An extension (x-pit-*) is an annotation: strict Ajv would reject an unknown keyword.
      continue;
    }
    if (k === "$ref" && typeof v === "string" && v.startsWith(COMPONENT_SCHEMA)) {
      out[k] = "#/$defs/" + v.slice(COMPONENT_SCHEMA.length);
    } else {
      out[k] = rewriteRefs(v, !namesToSchemas && NAMES_TO_SCHEMAS.has(k));
    }
  }
  return out;
}

// An OpenAPI Reference Object ({"$ref": "#/components/responses/X"}) resolved in the document.
export function resolve(doc, node) {
  const seen = new Set();
  while (node && typeof node.$ref === "string") {
    if (seen.has(node.$ref) || !node.$ref.startsWith("#/")) throw new Error(`cannot resolve ${node.$ref}`);
    seen.add(node.$ref);
    let target = doc;
    for (const part of node.$ref.slice(2).split("/")) {
      target = target?.[part.replaceAll("~1", "/").replaceAll("~0", "~")];
    }
    if (target === undefined) throw new Error(`${node.$ref} points to nothing`);
    node = target;
  }
  return node;
}

// The JSON Schema, as a self-contained 2020-12 schema, that `schema` (a schema of `doc`) is.
export function standalone(doc, schema) {
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    ...rewriteRefs(schema),
    $defs: rewriteRefs(doc.components?.schemas ?? {}, true),
  };
}

// The operation at POST `path` (pit serves every operation as POST /{contract}/{operation}).
export function operation(doc, path) {
  const item = resolve(doc, doc.paths?.[path]);
  const op = item?.post;
  if (!op) throw new Error(`the document has no POST ${path}`);
  return op;
}

function mediaSchema(doc, content, contentType, what) {
  const media = content?.[contentType];
  if (!media) {
    throw new Error(`${what} has no ${contentType} content (it has: ${Object.keys(content ?? {}).join(", ") || "none"})`);
  }
  if (!media.schema) throw new Error(`${what} ${contentType} has no schema`);
  return media.schema;
}

// The schema of the request body of POST `path`.
export function requestSchema(doc, path, contentType = "application/json") {
  const body = resolve(doc, operation(doc, path).requestBody);
  if (!body) throw new Error(`POST ${path} declares no request body`);
  return mediaSchema(doc, body.content, contentType, `the request body of POST ${path}`);
}

// The schema of the response of POST `path` with `status`: the exact status, else its
// range ("4XX"), else "default" — the order OpenAPI gives them.
export function responseSchema(doc, path, status, contentType) {
  const responses = operation(doc, path).responses ?? {};
  const key = [String(status), `${String(status)[0]}XX`, "default"].find((k) => k in responses);
  if (!key) {
    throw new Error(`POST ${path} declares no response ${status} (it declares: ${Object.keys(responses).join(", ")})`);
  }
  const response = resolve(doc, responses[key]);
  return mediaSchema(doc, response.content, contentType, `response ${key} of POST ${path}`);
}
