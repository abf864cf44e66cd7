#!/usr/bin/env python3
"""docs.cpp_blocks: every ```cpp block of README.md and docs/*.md compiles and
links against libprocctx, as a reader would paste it.

    cpp_blocks.py --cxx CXX [--flag=F]... [--link=L]... [--exclude=FILE.md]... [--root=DIR] FILE.md|DIR...
    (a DIR: its *.md but the excluded ones)

How a block becomes a translation unit (the convention the docs follow):
- It is compiled as written: it includes what it uses, declares the names it
  uses, and has no placeholder such as `...` (write a comment instead).
- Its leading `#include` and `using` lines stay at file scope. Everything after
  them is the body of a function, unless the block defines `main` or the line
  before its fence is `<!-- cpp: file scope -->`: then it all stays at file scope.
- A block that shows a file of the repository whole has `<!-- cpp: shows PATH -->` (PATH
  from --root) on the line before its fence: it must be that file, byte for byte (so a doc
  cannot drift from the example it shows). The build compiles that file; this does not.
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
FILE_MARK = re.compile(r"^<!-- cpp: shows (\S+) -->$")


def blocks(path):
    """(line number, text, file_scope, shown file or None) of each ```cpp block of a Markdown file."""
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
            before = lines[start - 2].strip() if start >= 2 else ""
            shown = FILE_MARK.match(before)
            found.append((start, "\n".join(body), before == FILE_SCOPE_MARK, shown.group(1) if shown else None))
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
    parser.add_argument("--exclude", action="append", default=[])
    parser.add_argument("--root", default=os.getcwd())
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    files = []
    for path in args.files:
        files += sorted(os.path.join(path, f) for f in os.listdir(path) if f.endswith(".md")) if os.path.isdir(path) else [path]
    excluded = {os.path.realpath(e) for e in args.exclude}
    files = [f for f in files if os.path.realpath(f) not in excluded]
    flags = ["-std=c++20", "-Wall", "-Wextra", "-Werror", "-Wno-unused", "-Wno-unused-parameter", *args.flag]
    with tempfile.TemporaryDirectory(prefix="procctx-doc-blocks.") as work:
        found = [(path, block) for path in files for block in blocks(path)]
        jobs = [(args.cxx, flags, args.link, work, path, line, text, marked)
                for path, (line, text, marked, shown) in found if shown is None]
        if not found:
            sys.exit("FAIL: no ```cpp block found in " + " ".join(files))
        failed = 0
        for path, (line, text, _, shown) in found:
            if shown is None:
                continue
            with open(os.path.join(args.root, shown), encoding="utf-8") as f:
                same = f.read().rstrip("\n") == text.rstrip("\n")
            print(f"{'ok' if same else 'FAIL'}: {os.path.basename(path)}:{line} is {shown}")
            failed += 0 if same else 1
        with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            for name, code, output in pool.map(compile_block, jobs):
                print(f"{'ok' if code == 0 else 'FAIL'}: {name}")
                if code != 0:
                    failed += 1
                    print(output)
    shown = len(found) - len(jobs)
    print(f"{len(jobs) - failed} of {len(jobs)} blocks compile" + (f"; {shown} show a file" if shown else ""))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
