// testing_faults.cpp — procctx::testing::fail_next() and friends: the
// public kinds of call (procctx/testing/faults.hpp) on the syscall seam's
// own (sys::Call, src/sys_linux.hpp). Only built with the seam compiled in.
#include <procctx/testing/faults.hpp>

#include "sys_linux.hpp"

#ifndef PROCCTX_FAULT_INJECTION
#error "the test kit needs the fault-injection seam: build it with PROCCTX_FAULT_INJECTION"
#endif

namespace procctx::testing {
namespace {

using Seam = detail::sys::Call;
namespace fault = detail::fault;

// Each public kind: its name, and the seam's call behind it. spawn is
// whichever clone the next spawn makes: clone3 unless the kernel (or a
// sandbox) has refused it before.
struct Kind {
  testing::Call call;
  std::string_view name;
  Seam seam;
};
constexpr Kind kKinds[] = {
    {testing::Call::spawn, "spawn", Seam::clone3},
    {testing::Call::pipe, "pipe", Seam::pipe2},
    {testing::Call::signal, "signal", Seam::pidfd_send_signal},
    {testing::Call::group_signal, "group_signal", Seam::kill},
    {testing::Call::cgroup_create, "cgroup_create", Seam::mkdir},
    {testing::Call::epoll, "epoll", Seam::epoll_ctl},
    {testing::Call::timer, "timer", Seam::timerfd_settime},
    {testing::Call::signal_handler, "signal_handler", Seam::sigaction},
};

const Kind* kind_of(testing::Call c) {
  for (const Kind& k : kKinds) {
    if (k.call == c) return &k;
  }
  return nullptr;
}

Seam seam_call(testing::Call c) {
  if (c == testing::Call::spawn) return detail::sys::have_clone3() ? Seam::clone3 : Seam::clone;
  const Kind* k = kind_of(c);
  return k ? k->seam : Seam::count_;
}

void arm(testing::Call c, int err, int nth, int times) {
  Seam s = seam_call(c);
  if (s != Seam::count_) fault::arm(s, err, nth, times);
}

}  // namespace

std::string_view to_string(testing::Call c) noexcept {
  const Kind* k = kind_of(c);
  return k ? k->name : "?";
}

void fail_next(testing::Call c, int err) { arm(c, err, 1, 1); }
void fail_nth(testing::Call c, int nth, int err) { arm(c, err, nth < 1 ? 1 : nth, 1); }
void fail_every(testing::Call c, int err) { arm(c, err, 1, -1); }
void clear_failures() { fault::clear(); }

long calls(testing::Call c) {
  if (c == testing::Call::spawn) return fault::calls(Seam::clone3) + fault::calls(Seam::clone);
  Seam s = seam_call(c);
  return s == Seam::count_ ? 0 : fault::calls(s);
}

}  // namespace procctx::testing
