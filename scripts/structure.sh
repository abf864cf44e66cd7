#!/usr/bin/env bash
# Measures procctx's structure and fails when it has grown out of shape:
#   - no function over 100 lines, no file over 700 lines (src/, include/, tools/, testchild/);
#   - no include cycle between private units (src/x.cpp with src/x.hpp is one
#     unit; each public header is a unit of its own);
#   - the layers hold: the loop's header does not reach the context's code,
#     context.cpp does not use the loop, trace does not reach the child's state;
#   - every library syscall goes through the seam (src/sys_linux.*), the
#     child side of spawn excepted;
#   - the CLI runs no poll/epoll/select loop of its own;
#   - nothing compares against an error's message text.
# Usage: scripts/structure.sh [TREE]   (default: the repository this script is in)
# Prints one line per figure, then each violation; exits 1 if there is any.
# Needs Universal Ctags (Debian: universal-ctags) and python3.
set -euo pipefail
tree=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$tree"
command -v ctags >/dev/null || { echo "structure.sh: needs Universal Ctags (apt install universal-ctags)" >&2; exit 2; }

ctags --output-format=json --fields=+ne --c++-kinds=+f --languages=C++ -R src include tools testchild 2>/dev/null |
python3 -c '
import json, os, re, sys

MAX_FUNCTION, MAX_FILE = 100, 700
violations = []
figures = {}

# Functions and files that are too long.
long_functions = []
longest = 0
for line in sys.stdin:
    try:
        t = json.loads(line)
    except ValueError:
        continue
    if t.get("kind") in ("function", "method") and "end" in t:
        n = t["end"] - t["line"] + 1
        longest = max(longest, n)
        if n > MAX_FUNCTION:
            long_functions.append((n, t["path"], t["line"], t["name"]))
files = []
for root in ("src", "include", "tools", "testchild"):
    for dirpath, _, names in os.walk(root):
        for name in names:
            if name.endswith((".cpp", ".hpp")):
                files.append(os.path.join(dirpath, name))
lines_of = {f: sum(1 for _ in open(f, encoding="utf-8", errors="replace")) for f in files}
long_files = sorted((n, f) for f, n in lines_of.items() if n > MAX_FILE)
figures["functions over %d lines" % MAX_FUNCTION] = len(long_functions)
figures["files over %d lines" % MAX_FILE] = len(long_files)
figures["longest function (lines)"] = longest
for n, path, line, name in sorted(long_functions, reverse=True):
    violations.append("%s:%d: %s is %d lines" % (path, line, name, n))
for n, f in long_files:
    violations.append("%s: %d lines" % (f, n))

# The include graph between units.
include_re = re.compile(r"^\s*#\s*include\s+[\"<]([^\">]+)[\">]")
def includes(path):
    out = []
    for text in open(path, encoding="utf-8", errors="replace"):
        m = include_re.match(text)
        if not m:
            continue
        inc = m.group(1)
        if inc.startswith("procctx/"):
            out.append(os.path.join("include", inc))
        elif os.path.exists(os.path.join(os.path.dirname(path), inc)):
            out.append(os.path.normpath(os.path.join(os.path.dirname(path), inc)))
    return out
def unit(path):
    return os.path.splitext(path)[0] if path.startswith("src/") else path
graph = {}
for f in files:
    if not (f.startswith("src/") or f.startswith("include/")):
        continue
    u = unit(f)
    for inc in includes(f):
        v = unit(inc)
        if v != u:
            graph.setdefault(u, set()).add(v)
cycles = set()
def visit(node, stack, on_stack, done):
    stack.append(node); on_stack.add(node)
    for nxt in sorted(graph.get(node, ())):
        if nxt in on_stack:
            cyc = stack[stack.index(nxt):]
            k = cyc.index(min(cyc))
            cycles.add(" -> ".join(cyc[k:] + cyc[:k] + [min(cyc)]))
        elif nxt not in done:
            visit(nxt, stack, on_stack, done)
    stack.pop(); on_stack.discard(node); done.add(node)
done = set()
for node in sorted(graph):
    if node not in done:
        visit(node, [], set(), done)
private_cycles = sorted(c for c in cycles if c.startswith("src/"))
figures["include cycles between private units"] = len(private_cycles)
for c in private_cycles:
    violations.append("include cycle: " + c)

def reaches(start, target):
    seen, todo = set(), [start]
    while todo:
        n = todo.pop()
        if n == target:
            return True
        if n in seen:
            continue
        seen.add(n)
        todo.extend(graph.get(n, ()))
    return False
layer_rules = [
    ("src/loop_linux.hpp", "include/procctx/context.hpp", "the loop header reaches the context"),
    ("src/context", "src/loop_linux", "context.cpp uses the loop (it needs only src/timers.hpp)"),
    ("src/trace", "src/child_linux", "trace reaches the child state"),
]
broken = 0
for a, b, why in layer_rules:
    src = a if a.endswith(".hpp") else a
    start = unit(src) if src.endswith(".hpp") and src.startswith("src/") else src
    if reaches(start, unit(b) if b.startswith("src/") else b):
        broken += 1
        violations.append("layering: " + why)
figures["layering rules broken"] = broken

# Syscalls outside the seam.
raw_re = re.compile(r"(?<![\w.>])::(syscall|kill|read|write|readlink|open|openat|close|fcntl|pipe2|dup2|dup3|poll|"
                    r"epoll_ctl|epoll_wait|epoll_create1|eventfd|timerfd_create|timerfd_settime|waitid|waitpid|"
                    r"mkdir|rmdir|fstat|sigaction|mmap|mremap|munmap|madvise|mprotect|ioctl)\s*\(")
seam = {"src/sys_linux.cpp", "src/sys_linux.hpp", "src/spawn_child_linux.cpp", "src/pidns_init_linux.cpp"}
raw = []
for f in files:
    if not f.startswith("src/") or f in seam:
        continue
    # A line marked "// seam: why" is a raw call on purpose (the write of a signal handler).
    code = "".join(("" if "// seam:" in line else line.split("//")[0]) + "\n"
                   for line in open(f, encoding="utf-8", errors="replace"))
    for m in raw_re.finditer(code):
        # Inside sys::call(Call::x, [&] { return ::x(...); }) it is the seam.
        if "Call::" in code[max(0, m.start() - 160):m.start()]:
            continue
        line = code.count("\n", 0, m.start()) + 1
        raw.append("%s:%d: ::%s outside the syscall seam" % (f, line, m.group(1)))
figures["raw syscalls outside the seam"] = len(raw)
violations += raw

# The CLI waits on the library, never in a loop of its own.
loop_re = re.compile(r"(?<![\w.])(::)?(poll|ppoll|epoll_wait|epoll_pwait|select|pselect)\s*\(")
cli_loops = []
for f in files:
    if not f.startswith("tools/"):
        continue
    for i, text in enumerate(open(f, encoding="utf-8", errors="replace"), 1):
        if loop_re.search(text.split("//")[0]):
            cli_loops.append("%s:%d: an event loop of the CLI own" % (f, i))
figures["poll/epoll/select calls in tools/"] = len(cli_loops)
violations += cli_loops

# Nobody reads an error by its words.
text_re = re.compile(r"message\(\)\s*(\.\s*(find|rfind|starts_with|ends_with|compare|substr)\b|==|!=)")
alias_re = re.compile(r"(\w+)\s*=\s*[\w.>-]*message\(\)\s*;")  # const std::string& m = e.message();
by_text = []
for f in files:
    if not (f.startswith("src/") or f.startswith("tools/")):
        continue
    lines = [t.split("//")[0] for t in open(f, encoding="utf-8", errors="replace")]
    aliases = {m.group(1) for t in lines for m in alias_re.finditer(t)}
    alias_use = re.compile(r"\b(%s)\s*\.\s*(find|rfind|starts_with|ends_with|compare)\b" % "|".join(aliases)) if aliases else None
    for i, text in enumerate(lines, 1):
        if text_re.search(text) or (alias_use and alias_use.search(text)):
            by_text.append("%s:%d: compares against an error message" % (f, i))
figures["comparisons against an error message text"] = len(by_text)
violations += by_text

figures["files"] = len(files)
figures["lines"] = sum(lines_of.values())
for k, v in figures.items():
    print("%-45s %s" % (k, v))
if violations:
    print()
    for v in violations:
        print("  " + v)
    sys.exit(1)
'
