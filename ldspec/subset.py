#!/usr/bin/env python3
"""Cut the part of LaunchDarkly's published OpenAPI document that flagstore's
conformance tests need: the operations of the core families, the schemas
they reference (transitively), descriptions and examples stripped.

Usage: python3 subset.py ld-openapi.yaml > ld-openapi-subset.json
(the input is LaunchDarkly's api/openapi.yaml; PyYAML reads it).
"""
import json
import sys

import yaml

FAMILIES = {
    "Projects", "Environments", "Feature flags", "Feature flags (beta)", "Segments",
    "Access tokens", "Custom roles", "Account members", "Teams", "Audit log",
    "Metrics", "Other", "Webhooks", "Teams (beta)", "Tags",
}
DROP = {"description", "example", "examples", "summary", "externalDocs", "x-readme"}


def strip(node, key=None):
    if isinstance(node, dict):
        out = {k: strip(v, k) for k, v in node.items() if k not in DROP}
        if key == "responses":
            # OpenAPI requires a description on every response: keep a stub.
            for r in out.values():
                if isinstance(r, dict) and "$ref" not in r:
                    r["description"] = "-"
        return out
    if isinstance(node, list):
        return [strip(v) for v in node]
    return node


def refs(node, out):
    if isinstance(node, dict):
        r = node.get("$ref")
        if isinstance(r, str) and r.startswith("#/components/"):
            out.add(tuple(r.split("/")[2:4]))
        for v in node.values():
            refs(v, out)
    elif isinstance(node, list):
        for v in node:
            refs(v, out)


def main():
    spec = yaml.safe_load(open(sys.argv[1]))
    paths = {}
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if not isinstance(op, dict) or "operationId" not in op:
                continue
            if not FAMILIES.intersection(op.get("tags", [])):
                continue
            paths.setdefault(path, {})[method] = strip(op)
    need, done = set(), set()
    refs(paths, need)
    comps = {}
    while need - done:
        kind, name = (need - done).pop()
        done.add((kind, name))
        node = strip(spec["components"][kind][name])
        comps.setdefault(kind, {})[name] = node
        refs(node, need)
    if "securitySchemes" in spec["components"]:
        comps["securitySchemes"] = strip(spec["components"]["securitySchemes"])
    out = {
        "openapi": spec["openapi"],
        "info": {"title": spec["info"]["title"], "version": spec["info"]["version"]},
        "paths": paths,
        "components": comps,
    }
    json.dump(out, sys.stdout, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
