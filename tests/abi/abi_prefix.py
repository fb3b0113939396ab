#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""abi_prefix.py OLD_HEADER NEW_HEADER - the new header only ever appends to the old one.

abi_layout compares offsets and sizes, which cannot see a changed function signature (every
function pointer is 8 bytes) or a member retyped to a same-sized type (int -> unsigned, a const
dropped). This compares declarations as text, with comments and whitespace normalised:
  - every struct and enum of OLD exists in NEW, and OLD's members / enumerators are an exact
    prefix of NEW's (new ones may only follow them);
  - every other top-level declaration of OLD (typedefs, the entry point) is unchanged;
  - every #define of OLD keeps its value, except RELHOST_ABI_MINOR, which may only grow.
Exit 0 when NEW keeps every promise, 1 with one line per broken promise.
"""
import re
import sys


def normalise(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    return text


def macros(text):
    out = {}
    # Join continuation lines first, so multi-line macros compare as one.
    for line in re.sub(r"\\\n", " ", text).splitlines():
        m = re.match(r"\s*#\s*define\s+(\w+(?:\([^)]*\))?)\s*(.*)$", line)
        if m:
            out[m.group(1)] = " ".join(m.group(2).split())
    return out


def split_top(body, sep):
    """Split body at sep characters outside parentheses and braces."""
    parts, depth, cur = [], 0, []
    for ch in body:
        if ch in "({":
            depth += 1
        elif ch in ")}":
            depth -= 1
        if ch == sep and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [" ".join(p.split()) for p in parts if p.strip()]


def aggregates(code):
    """{'struct relhost_ctx': [members...], 'enum relhost_mode': [enumerators...]}"""
    out = {}
    for m in re.finditer(r"\b(struct|enum)\s+(\w+)\s*\{", code):
        kind, name = m.group(1), m.group(2)
        i, depth = m.end(), 1
        while depth:
            depth += {"{": 1, "}": -1}.get(code[i], 0)
            i += 1
        body = code[m.end():i - 1]
        out[kind + " " + name] = split_top(body, ";" if kind == "struct" else ",")
    return out


def other_declarations(code):
    """Top-level statements that are not struct/enum definitions: typedefs of function types,
    forward declarations, the entry point."""
    # A directive ends at the first line end not escaped: drop continued macro bodies whole.
    code = re.sub(r"\\\n", " ", code)
    code = re.sub(r"^\s*#.*$", " ", code, flags=re.M)
    code = re.sub(r'extern\s+"C"\s*\{', " ", code)
    # Drop aggregate bodies, keep what follows them ("} relhost_ctx;" becomes a typedef name).
    while True:
        m = re.search(r"\b(?:struct|enum)\s+\w+\s*\{", code)
        if not m:
            break
        i, depth = m.end(), 1
        while depth:
            depth += {"{": 1, "}": -1}.get(code[i], 0)
            i += 1
        code = code[:m.start()] + "AGGREGATE" + code[i:]
    return {" ".join(s.split()) for s in split_top(code, ";") if "AGGREGATE" not in s and
            s.strip() not in ("}",)}


def main():
    old_text, new_text = (open(p, encoding="utf-8").read() for p in sys.argv[1:3])
    old_code, new_code = normalise(old_text), normalise(new_text)
    broken = []

    old_aggr, new_aggr = aggregates(old_code), aggregates(new_code)
    for name, members in old_aggr.items():
        if name not in new_aggr:
            broken.append(f"{name}: removed")
            continue
        cur = new_aggr[name]
        for i, member in enumerate(members):
            if i >= len(cur) or cur[i] != member:
                got = cur[i] if i < len(cur) else "(nothing)"
                broken.append(f"{name}: 1.0 has '{member}' at position {i}, now '{got}'")
                break

    old_decl, new_decl = other_declarations(old_code), other_declarations(new_code)
    for d in sorted(old_decl - new_decl):
        broken.append(f"declaration changed or removed: '{d}'")

    old_mac, new_mac = macros(old_code), macros(new_code)
    for name, value in old_mac.items():
        if name not in new_mac:
            broken.append(f"#define {name}: removed")
        elif name == "RELHOST_ABI_MINOR":
            if int(new_mac[name]) < int(value):
                broken.append(f"RELHOST_ABI_MINOR went down: {value} -> {new_mac[name]}")
        elif new_mac[name] != value:
            broken.append(f"#define {name}: '{value}' is now '{new_mac[name]}'")

    for b in broken:
        print(f"abi_prefix: {b}")
    if not old_aggr or not old_mac:
        print("abi_prefix: parsed nothing from the old header: this check is broken")
        return 1
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
