#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""schemas.py - every JSON output of relhost has a schema in docs/ that ajv v8 compiles in strict
mode, one key naming convention for the schema number, and real outputs valid against them.

The JSON outputs and their schemas (docs/*.schema.json):
    relhost report --format json, --report-json   report.schema.json    key report_schema
    relhost status --json                          status.schema.json    key status_schema
    relhost explain --json                         explain.schema.json   key explain_schema
    relhost releases --json                        releases.schema.json  key releases_schema
The convention: a command's JSON output names its shape's number "<schema name>_schema" (the
files relhost keeps, the state and the registry manifest, say "schema": they are not outputs).

ajv v8 is the vendored standalone bundle tests/fixtures/ajv/ajv2020.bundle.js (MIT, see the
README there), run by tests/schemas/ajv_check.js with the system's node (Debian's nodejs, which
.ci/setup installs). Without node the cases exit 77 (skipped, loudly) on a developer's machine
and fail under CI=true. A broken schema (union type, unknown keyword, an object that does not
state additionalProperties) and a document that breaks a schema are shown to fail.

Run one case: schemas.py <case>; all: schemas.py; names: schemas.py --list.
"""
import json
import os
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
sys.path.insert(0, os.path.join(HERE, "..", "ops"))
import rh  # noqa: E402
import ops  # noqa: E402  (its fixture states and registry manifests)

OUTPUTS = {"report": "report_schema", "status": "status_schema", "explain": "explain_schema",
           "releases": "releases_schema"}


# A registry manifest as registry operations write it, and an older entry that lacks members.
MANIFEST = {"schema": 1,
            "pointers": {"latest": "1.0", "last_green": "0.9", "previous_green": None},
            "releases": [
                {"version": "0.8", "status": "rolled_back"},
                {"version": "0.9", "commit": "b" * 40, "status": "promoted",
                 "staged_at": "2026-01-01T00:00:00Z", "promoted_at": "2026-01-01T01:00:00Z",
                 "quarantined_at": None, "rolled_back_at": None, "reason": None,
                 "artifacts": [{"path": "relhost.tar.gz", "sha256": "ab" * 32, "size": 1234}]},
                {"version": "1.0", "commit": "a" * 40, "status": "quarantined",
                 "staged_at": "2026-01-02T03:04:05Z", "promoted_at": None,
                 "quarantined_at": "2026-01-02T03:09:05Z", "rolled_back_at": None,
                 "reason": "tests failed: sps_max below 30000", "artifacts": []}]}


def schema_path(name):
    return os.path.join(rh.source_dir(), "docs", f"{name}.schema.json")


def node():
    n = shutil.which("node") or shutil.which("nodejs")
    if not n:
        msg = "node is not installed (apt-get install nodejs): the JSON schemas are NOT checked"
        if os.environ.get("CI"):
            raise rh.Failure(msg + " (CI must run this: .ci/setup installs nodejs)")
        print("SKIP: " + msg, file=sys.stderr)
        raise rh.Skip("node missing: install nodejs")
    return n


def ajv(*args):
    """ajv_check.js's (exit code, problems)."""
    p = subprocess.run([node(), os.path.join(HERE, "ajv_check.js")] + list(args),
                       capture_output=True, timeout=120)
    out = p.stdout.decode("utf-8", "replace") + p.stderr.decode("utf-8", "replace")
    return p.returncode, out


def write_json(d, name, doc):
    path = os.path.join(d, name)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f)
    return path


def outputs():
    """Real outputs of every JSON-printing command, as {schema name: [(what, document)]}."""
    docs = {n: [] for n in OUTPUTS}
    for kind in ("passed", "failed", "frozen", "deferred", "undecided", "running"):
        d, p = ops.with_state(kind)
        if kind == "failed":
            ops.manifest(d, None, text=json.dumps(MANIFEST))
        for name, argv in (("status", ["status", "--json"]), ("explain", ["explain", "--json"]),
                           ("report", ["report", "--format", "json"]),
                           ("releases", ["releases", "--json"])):
            r = rh.run([argv[0], "-c", p] + (["--release", ops.VERSION] if name != "releases"
                                              else []) + argv[1:], cwd=d, env=ops.NO_ACCOUNTS)
            rh.expect(r, 0)
            try:
                docs[name].append((f"{' '.join(argv)} of the {kind} state", json.loads(r.out)))
            except ValueError as e:
                rh.fail(f"{' '.join(argv)} printed no JSON ({e})", r)
    return docs


# ---- cases ----------------------------------------------------------------------------------

def case_every_json_output_has_a_schema_that_compiles_strictly():
    """Why: explain.schema.json needed ajv's allowUnionTypes to compile; `releases --json` had
    no schema file."""
    missing = [n for n in OUTPUTS if not os.path.isfile(schema_path(n))]
    rh.check(not missing, f"JSON outputs without a schema in docs/: {missing}")
    files = sorted(os.path.join(rh.source_dir(), "docs", f)
                   for f in os.listdir(os.path.join(rh.source_dir(), "docs"))
                   if f.endswith(".schema.json"))
    rc, out = ajv("compile", *files)
    rh.check(rc == 0, f"ajv v8 (strict) refuses a schema:\n{out}")


def case_a_broken_schema_or_document_is_refused():
    """The check is no rubber stamp: each way a schema can break strict mode, and a document
    that breaks its schema, is refused."""
    d = rh.scratch()
    with open(schema_path("report"), encoding="utf-8") as f:
        good = json.load(f)
    rc, out = ajv("compile", write_json(d, "good.json", good))
    rh.check(rc == 0, f"the unbroken schema fails: {out}")

    def broken(edit):
        s = json.loads(json.dumps(good))
        edit(s)
        return s

    rel = lambda s: s["properties"]["release"]  # noqa: E731
    cases = (
        ("a union type", lambda s: rel(s)["properties"]["version"].update(
            type=["string", "number"])),
        ("an unknown keyword", lambda s: rel(s).update(minimumm=1)),
        ("an object without additionalProperties", lambda s: rel(s).pop("additionalProperties")),
        ("a $ref to nothing", lambda s: rel(s)["properties"]["version"].update(
            {"$ref": "#/$defs/nothing"})),
    )
    for why, edit in cases:
        rc, out = ajv("compile", write_json(d, "bad.json", broken(edit)))
        rh.check(rc == 1 and out.strip(), f"ajv_check.js accepted a schema with {why}: {out}")
    doc = outputs_of_report(d)
    rc, out = ajv("validate", schema_path("report"), write_json(d, "ok.json", doc))
    rh.check(rc == 0, f"a real report fails its schema: {out}")
    for why, edit in (("a missing member", lambda x: x["release"].pop("decision")),
                      ("an unknown member", lambda x: x["release"].update(extra=1)),
                      ("a string where a number goes", lambda x: x["summary"]["steps"].update(
                          total="3"))):
        bad = json.loads(json.dumps(doc))
        edit(bad)
        rc, out = ajv("validate", schema_path("report"), write_json(d, "bad-doc.json", bad))
        rh.check(rc == 1 and out.strip(), f"ajv accepted a report with {why}: {out}")


def outputs_of_report(d):
    d2, p = ops.with_state("failed")
    r = rh.expect(rh.run(["report", "-c", p, "--release", ops.VERSION, "--format", "json"],
                         cwd=d2), 0)
    return json.loads(r.out)


def case_schema_number_keys_follow_one_convention():
    """Why: `releases --json` named its schema key `schema` while the others said
    `status_schema`, `report_schema`. Every output names it "<name>_schema", first, an integer
    the schema file pins with const."""
    for name, docs in outputs().items():
        key = OUTPUTS[name]
        with open(schema_path(name), encoding="utf-8") as f:
            s = json.load(f)
        pinned = s["properties"].get(key, {}).get("const")
        rh.check(isinstance(pinned, int) and key in s.get("required", []),
                 f"docs/{name}.schema.json does not pin a required integer {key}")
        for what, doc in docs:
            rh.check(list(doc)[0] == key and doc[key] == pinned,
                     f"{what}: the first member is {list(doc)[:1]}, not {key} = {pinned}")
            rh.check("schema" not in doc, f"{what}: a bare `schema` member: {list(doc)}")


def case_real_outputs_are_valid_against_their_schemas():
    d = rh.scratch()
    for name, docs in outputs().items():
        files = [write_json(d, f"{name}-{i}.json", doc) for i, (_, doc) in enumerate(docs)]
        rc, out = ajv("validate", schema_path(name), *files)
        rh.check(rc == 0, f"real `{name}` outputs are not valid against docs/{name}.schema.json "
                 f"({', '.join(w for w, _ in docs)}):\n{out}")
        if name == "releases":
            rh.check(any(doc["releases"] for _, doc in docs),
                     "no releases --json output with a release in it: the test covers nothing")


if __name__ == "__main__":
    sys.exit(rh.main(globals()))
