// Validates wijkpuls' OpenAPI description with a validator of OpenAPI documents
// (@seriousme/openapi-schema-validator: the OpenAPI 3.1 meta-schema), then live
// responses against it with Ajv (JSON Schema 2020-12, formats checked).
//
//   node validate.mjs OPENAPI.json RESPONSES.json
//
// RESPONSES.json: [{"path": "/api/v1/quotas?wave=2024", "status": 200,
// "content_type": "application/json", "body": "…"}, …] as openapi_test.py
// fetched them. Every response must match the path, status and media type
// the description gives, and its body the schema there. Prints what was not
// exercised. Exit 0 when all is valid, 1 otherwise.
import { readFileSync } from "node:fs";
import { Validator } from "@seriousme/openapi-schema-validator";
import Ajv2020Module from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";

const Ajv2020 = Ajv2020Module.default || Ajv2020Module;
const addFormats = addFormatsModule.default || addFormatsModule;

const [docPath, responsesPath] = process.argv.slice(2);
const doc = JSON.parse(readFileSync(docPath, "utf8"));
const responses = JSON.parse(readFileSync(responsesPath, "utf8"));
let failures = 0;
const fail = (what) => { failures++; console.log(`FAIL: ${what}`); };

const meta = await new Validator().validate(structuredClone(doc));
if (!meta.valid) fail(`the document is not valid OpenAPI ${doc.openapi}: ${JSON.stringify(meta.errors).slice(0, 2000)}`);
else console.log(`the document is valid OpenAPI ${doc.openapi}`);

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema(doc, "openapi.json");

const pointer = (parts) => "#" + parts.map((p) => "/" + String(p).replace(/~/g, "~0").replace(/\//g, "~1")).join("");
const resolve = (obj) => {  // one local $ref to a non-schema object (responses, parameters, headers)
  if (!obj || !obj.$ref) return [obj, null];
  const parts = obj.$ref.replace(/^#\//, "").split("/").map((p) => p.replace(/~1/g, "/").replace(/~0/g, "~"));
  return [parts.reduce((o, k) => o[k], doc), parts];
};

// The path template of a concrete path: "/api/v1/scores/wijk/cool" → "/api/v1/scores/{level}/{unit}".
const templates = Object.keys(doc.paths).map((t) => ({
  t, re: new RegExp("^" + t.replace(/[.]/g, "\\.").replace(/\{[^}]+\}/g, "[^/]+") + "$") }));
const templateOf = (path) => {
  const bare = path.split("?")[0];
  const exact = templates.find((x) => x.t === bare);  // "/api/v1/quotas" before "/api/v1/quotas/{wijk}"
  return exact ? exact.t : (templates.find((x) => x.re.test(bare)) || {}).t;
};

const seen = new Set();
const schemasSeen = new Set();
for (const r of responses) {
  const t = templateOf(r.path);
  if (!t) { fail(`${r.path}: no path of the description matches`); continue; }
  const op = doc.paths[t].get;
  const status = String(r.status);
  if (!op.responses[status]) { fail(`${r.path}: status ${status} is not described (${Object.keys(op.responses)})`); continue; }
  seen.add(`${t} ${status}`);
  const [resp, respParts] = resolve(op.responses[status]);
  // Every header the description gives this response: present, and as its schema says.
  for (const [name, h] of Object.entries(resp.headers || {})) {
    const [, headerParts] = resolve(h);
    const value = (r.headers || {})[name.toLowerCase()];
    if (value === undefined) { fail(`${r.path} ${status}: no ${name} header`); continue; }
    const hat = pointer([...(headerParts || ["paths", t, "get", "responses", status, "headers", name]), "schema"]);
    const validateHeader = ajv.getSchema("openapi.json" + hat);
    if (!validateHeader) { fail(`${r.path}: cannot compile the schema at ${hat}`); continue; }
    if (!validateHeader(value)) fail(`${r.path} ${status}: header ${name}: ${JSON.stringify(value)} ${validateHeader.errors[0].message}`);
  }
  const media = (r.content_type || "").split(";")[0].trim();
  if (!resp.content) {
    if (r.body) fail(`${r.path} ${status}: a body where the description has none`);
    continue;
  }
  if (!resp.content[media]) { fail(`${r.path} ${status}: media type ${media} is not described (${Object.keys(resp.content)})`); continue; }
  const base = respParts || ["paths", t, "get", "responses", status];
  const at = pointer([...base, "content", media, "schema"]);
  const validate = ajv.getSchema("openapi.json" + at);
  if (!validate) { fail(`${r.path}: cannot compile the schema at ${at}`); continue; }
  const ref = resp.content[media].schema.$ref;
  if (ref) schemasSeen.add(ref.split("/").pop());
  const body = media === "application/json" ? JSON.parse(r.body) : r.body;
  if (!validate(body)) {
    fail(`${r.path} ${status}: ${validate.errors.length} schema errors, the first: ` +
         validate.errors.slice(0, 3).map((e) => `${e.instancePath || "/"} ${e.message} ${JSON.stringify(e.params)}`).join("; "));
  }
}

// What the description promises and no response showed (told, not failed: some statuses need
// a state this run does not reach, e.g. 503 before the state is loaded).
const unexercised = [];
for (const [t, item] of Object.entries(doc.paths)) {
  for (const status of Object.keys(item.get.responses)) {
    if (!seen.has(`${t} ${status}`)) unexercised.push(`${t} ${status}`);
  }
}
const pathsSeen = new Set([...seen].map((s) => s.split(" ")[0]));
for (const t of Object.keys(doc.paths)) if (!pathsSeen.has(t)) fail(`path ${t} was not exercised`);
console.log(`${responses.length} responses checked against ${pathsSeen.size} paths; ` +
            `documents: ${[...schemasSeen].sort().join(", ")}`);
console.log(`not exercised: ${unexercised.join(", ") || "nothing"}`);
process.exit(failures ? 1 : 0);
