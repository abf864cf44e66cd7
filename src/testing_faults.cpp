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

// The seam's call for a kind. spawn is whichever clone the next spawn
// makes: clone3 unless the kernel (or a sandbox) has refused it before.
Seam seam_call(testing::Call c) {
  switch (c) {
    case testing::Call::spawn:
      return detail::sys::have_clone3() ? Seam::clone3 : Seam::clone;
    case testing::Call::pipe:
      return Seam::pipe2;
    case testing::Call::signal:
      return Seam::pidfd_send_signal;
    case testing::Call::group_signal:
      return Seam::kill;
    case testing::Call::cgroup_create:
      return Seam::mkdir;
    case testing::Call::epoll:
      return Seam::epoll_ctl;
    case testing::Call::timer:
      return Seam::timerfd_settime;
    case testing::Call::signal_handler:
      return Seam::sigaction;
  }
  return Seam::count_;
}

void arm(testing::Call c, int err, int nth, int times) {
  Seam s = seam_call(c);
  if (s != Seam::count_) fault::arm(s, err, nth, times);
}

}  // namespace

std::string_view to_string(testing::Call c) noexcept {
  switch (c) {
    case testing::Call::spawn:
      return "spawn";
    case testing::Call::pipe:
      return "pipe";
    case testing::Call::signal:
      return "signal";
    case testing::Call::group_signal:
      return "group_signal";
    case testing::Call::cgroup_create:
      return "cgroup_create";
    case testing::Call::epoll:
      return "epoll";
    case testing::Call::timer:
      return "timer";
    case testing::Call::signal_handler:
      return "signal_handler";
  }
  return "?";
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
