// expect.hpp — what the mistake_* examples share: say what was checked,
// remember whether anything failed, and check for leaks at the end, so that
// each example is also a test (CI runs them and fails on a non-zero exit).
#pragma once

#include <procctx/diagnostics.hpp>

#include <cstdio>

namespace example {

inline int& failures() {
  static int n = 0;
  return n;
}

// Prints "ok: what" or "FAIL: what"; returns `cond`.
inline bool expect(bool cond, const char* what) {
  std::printf("%s: %s\n", cond ? "ok" : "FAIL", what);
  if (!cond) ++failures();
  return cond;
}

// Runs demo(), then checks that it left no child, fd or thread behind once
// its handles are gone. main's exit status: 0 when every expectation held.
inline int run_with_leak_check(void (*demo)()) {
  procctx::LeakCheck leaks;
  demo();
  expect(leaks.check().empty(), "nothing left behind: no child, fd or thread");
  return failures() == 0 ? 0 : 1;
}

}  // namespace example
