// SPDX-License-Identifier: MIT
// ajv_check.js - JSON Schema checks with ajv v8 (the vendored standalone bundle in
// tests/fixtures/ajv/), run by tests/schemas/schemas.py with the system's node.
//
//   node ajv_check.js compile SCHEMA.json...
//       each schema must compile under ajv's strict mode (no unknown keyword, no union `type`
//       needing allowUnionTypes, no ignored keyword) and state `additionalProperties` on every
//       subschema that describes an object.
//   node ajv_check.js validate SCHEMA.json DOC.json...
//       each document must be valid against the schema (compiled strictly too).
//
// Exit 0 when all hold; 1 with one line per problem on stdout; 2 on bad usage.
"use strict";
const fs = require("fs");
const path = require("path");
const bundle = require(path.join(__dirname, "..", "fixtures", "ajv", "ajv2020.bundle.js"));
const Ajv2020 = bundle.default || bundle;

function load(file) {
  return JSON.parse(fs.readFileSync(file, "utf8"));
}

function strictAjv() {
  return new Ajv2020({ strict: true, allErrors: true });
}

// Every subschema that says it is an object (type "object", or has properties) must say what
// other members do: `additionalProperties` (false, or a schema), or `unevaluatedProperties`.
function openObjects(s, where, out) {
  if (Array.isArray(s)) {
    s.forEach((x, i) => openObjects(x, `${where}/${i}`, out));
    return out;
  }
  if (!s || typeof s !== "object")
    return out;
  const isObject = s.type === "object" || "properties" in s;
  if (isObject && !("additionalProperties" in s) && !("unevaluatedProperties" in s))
    out.push(`${where || "/"}: an object schema without additionalProperties`);
  for (const [k, v] of Object.entries(s)) {
    if (k === "enum" || k === "const" || k === "examples" || k === "default")
      continue;
    if (k === "properties" || k === "$defs" || k === "patternProperties") {
      for (const [name, sub] of Object.entries(v))
        openObjects(sub, `${where}/${k}/${name}`, out);
    } else if (typeof v === "object") {
      openObjects(v, `${where}/${k}`, out);
    }
  }
  return out;
}

function compile(files) {
  const problems = [];
  for (const f of files) {
    let schema;
    try {
      schema = load(f);
    } catch (e) {
      problems.push(`${f}: not JSON: ${e.message}`);
      continue;
    }
    try {
      strictAjv().compile(schema);
    } catch (e) {
      problems.push(`${f}: does not compile in strict mode: ${e.message}`);
    }
    for (const p of openObjects(schema, "", []))
      problems.push(`${f}: ${p}`);
  }
  return problems;
}

function validate(schemaFile, docs) {
  const problems = [];
  let check;
  try {
    check = strictAjv().compile(load(schemaFile));
  } catch (e) {
    return [`${schemaFile}: does not compile in strict mode: ${e.message}`];
  }
  for (const d of docs) {
    let doc;
    try {
      doc = load(d);
    } catch (e) {
      problems.push(`${d}: not JSON: ${e.message}`);
      continue;
    }
    if (!check(doc))
      for (const e of check.errors.slice(0, 20))
        problems.push(`${d}: ${e.instancePath || "/"} ${e.message}` +
                      (e.params && Object.keys(e.params).length ? ` ${JSON.stringify(e.params)}` : "") +
                      ` (schema ${e.schemaPath})`);
  }
  return problems;
}

const [mode, ...args] = process.argv.slice(2);
let problems;
if (mode === "compile" && args.length >= 1)
  problems = compile(args);
else if (mode === "validate" && args.length >= 2)
  problems = validate(args[0], args.slice(1));
else {
  console.error("usage: node ajv_check.js compile SCHEMA... | validate SCHEMA DOC...");
  process.exit(2);
}
for (const p of problems)
  console.log(p);
process.exit(problems.length ? 1 : 0);
