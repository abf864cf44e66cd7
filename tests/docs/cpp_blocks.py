#!/usr/bin/env python3
"""docs.cpp_blocks: every ```cpp block of README.md and docs/*.md compiles and
links against libprocctx, as a reader would paste it.

    cpp_blocks.py --cxx CXX [--flag=F]... [--link=L]... FILE.md|DIR...   (a DIR: its *.md)

How a block becomes a translation unit (the convention the docs follow):
- It is compiled as written: it includes what it uses, declares the names it
  uses, and has no placeholder such as `...` (write a comment instead).
- Its leading `#include` and `using` lines stay at file scope. Everything after
  them is the body of a function, unless the block defines `main` or the line
  before its fence is `<!-- cpp: file scope -->`: then it all stays at file scope.
- Unused variables are fine (a block shows code, it does not finish it); any
  other warning of -Wall -Wextra, e.g. an ignored [[nodiscard]] Result, is an
  error.
Each block is linked into a program (nothing runs), so every procctx symbol it
uses must be exported by the library."""

import argparse
import concurrent.futures
import os
import re
import subprocess
import sys
import tempfile

FENCE = re.compile(r"^(\s*)```(\S*)\s*$")
FILE_SCOPE_MARK = "<!-- cpp: file scope -->"


def blocks(path):
    """(line number, text, file_scope) of each ```cpp block of a Markdown file."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    found, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, lang = m.group(1), m.group(2)
        start, body = i + 1, []
        i += 1
        while i < len(lines) and not (FENCE.match(lines[i]) and lines[i].strip() == "```"):
            body.append(lines[i][len(indent):] if lines[i].startswith(indent) else lines[i])
            i += 1
        i += 1
        if lang == "cpp":
            marked = start >= 2 and lines[start - 2].strip() == FILE_SCOPE_MARK
            found.append((start, "\n".join(body), marked))
    return found


def translation_unit(path, line, text, file_scope):
    """The block as a program, with #line directives pointing back into the Markdown file."""
    lines = text.split("\n")
    head = 0
    while head < len(lines) and (not lines[head].strip() or re.match(r"\s*(#include|using)\b", lines[head])):
        head += 1
    prologue, rest = lines[:head], lines[head:]
    has_main = re.search(r"\bint\s+main\s*\(", text) is not None
    out = [f'#line {line + 1} "{path}"', *prologue]
    body_line = f'#line {line + 1 + head} "{path}"'
    if file_scope or has_main:
        out += [body_line, *rest]
    else:
        # Not static: the function is emitted, so the link checks every symbol it uses.
        out += ["void procctx_doc_block();", "void procctx_doc_block() {", body_line, *rest, "}"]
    if not has_main:
        out.append("int main() {}")
    return "\n".join(out) + "\n"


def compile_block(job):
    cxx, flags, links, work, path, line, text, file_scope = job
    name = f"{os.path.basename(path)}:{line}"
    source = os.path.join(work, re.sub(r"[^\w]", "_", name) + ".cpp")
    with open(source, "w", encoding="utf-8") as f:
        f.write(translation_unit(path, line, text, file_scope))
    cmd = [cxx, *flags, source, "-o", source[:-4], *links]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    return name, done.returncode, done.stdout + done.stderr


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cxx", required=True)
    parser.add_argument("--flag", action="append", default=[])
    parser.add_argument("--link", action="append", default=[])
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    files = []
    for path in args.files:
        files += sorted(os.path.join(path, f) for f in os.listdir(path) if f.endswith(".md")) if os.path.isdir(path) else [path]
    flags = ["-std=c++20", "-Wall", "-Wextra", "-Werror", "-Wno-unused", "-Wno-unused-parameter", *args.flag]
    with tempfile.TemporaryDirectory(prefix="procctx-doc-blocks.") as work:
        jobs = [(args.cxx, flags, args.link, work, path, line, text, marked)
                for path in files for line, text, marked in blocks(path)]
        if not jobs:
            sys.exit("FAIL: no ```cpp block found in " + " ".join(files))
        failed = 0
        with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            for name, code, output in pool.map(compile_block, jobs):
                print(f"{'ok' if code == 0 else 'FAIL'}: {name}")
                if code != 0:
                    failed += 1
                    print(output)
    print(f"{len(jobs) - failed} of {len(jobs)} blocks compile")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
