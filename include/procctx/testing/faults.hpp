/// @file
/// @brief Failures on demand: make the next (or the Nth, or every) call of a kind fail as the
/// kernel would.
///
/// @code
///   procctx::testing::fail_next(procctx::testing::Call::spawn, EAGAIN);
///   auto r = procctx::testing::child({"exit=0"}).run(ctx);   // "spawn '...': clone: Resource temporarily
///   unavailable" auto again = procctx::testing::child({"exit=0"}).run(ctx);  // runs
/// @endcode
///
/// procctx makes every system call of the library through one seam; the test kit's build of
/// the library (procctx::testing) lets a test arm it. A failed call is not made: it returns -1
/// with the errno given, exactly where the real call would have, and procctx goes on as it does
/// when the kernel says so (an error from spawn(), a fallback, a note in Completed). Calls are
/// counted process-wide, on every thread, procctx's loop thread included: a test that spawns
/// in the background meanwhile counts those calls too.
///
/// Threads: any. Armed failures stay until they are used up or clear_failures() runs
/// (testing::LeakCheckTest clears them after each test); arming a kind again replaces what was
/// armed for it. The kit's own calls (spawn_ready's pipe) are not counted.
///
/// What it will not do: fail the child's own calls between clone and exec, or a call the
/// library does not make for the kind (see each Call).
#pragma once

#include <string_view>

namespace procctx::testing {

/// The kinds of call a test can make fail; docs/testing.md has what procctx does after each.
enum class Call {
  /// Starting a child (clone3, or clone where the kernel has no clone3): spawn(), run(), a
  /// Group's or a Pipeline's start return the errno (EAGAIN, ENOMEM, ENOSPC, EPERM).
  spawn,
  /// pipe2 for a stdio pipe (Stdio::capture, pipe, relay, data) or a Pipeline's joint: the spawn
  /// fails (EMFILE, ENFILE).
  pipe,
  /// pidfd_send_signal: Process::signal(); the stop sequence with Tree::none, to a leader that
  /// left its group, or to escapees; SIGKILL when a spawn is abandoned (EPERM, ESRCH).
  signal,
  /// kill(2): signals to the process group (the stop sequence, Process::signal_tree(), kill()),
  /// to each process of a cgroup for signals other than SIGKILL, and the check whether a group
  /// still has members once its leader is gone (kill(-pgid, 0); failing it makes procctx
  /// consider the group empty).
  group_signal,
  /// mkdir of a Tree::cgroup leaf: the child runs in a process group instead, and
  /// Completed::tree_note says why; with cgroup limits the spawn fails (EACCES, ENOSPC, EBUSY).
  cgroup_create,
  /// epoll_ctl: the loop cannot watch a pipe or a pidfd. A spawn with captured or relayed
  /// output fails; a child whose exit must be watched is looked at every 50 ms instead
  /// (ENOMEM, ENOSPC).
  epoll,
  /// timerfd_settime, arming the loop's one timer (real-time timers only; a Clock's timers
  /// make no call): the loop then bounds its wait by the earliest timer itself, and a
  /// context whose deadline cannot get a timer ends the next time it is asked (EINVAL, ENOMEM).
  timer,
  /// sigaction, installing or restoring on_signal()'s handler: on_signal() and
  /// signal_context() return the error (EINVAL).
  signal_handler,
};

/// "spawn", "pipe", "signal", "group_signal", "cgroup_create", "epoll", "timer", "signal_handler".
std::string_view to_string(Call c) noexcept;

/// The next call of kind `c` fails with `err` (an errno value: EAGAIN, EMFILE, ...).
void fail_next(Call c, int err);
/// The `nth` call of kind `c` from now (1: the next) fails with `err`; those before it are made.
void fail_nth(Call c, int nth, int err);
/// Every call of kind `c` from now on fails with `err`, until clear_failures().
void fail_every(Call c, int err);
/// Removes every armed failure and sets every counter back to 0.
void clear_failures();
/// Calls of kind `c` (made or failed) since the first fail_*() or clear_failures() of the process
/// (none are counted before: the count costs a lock per call). For Call::spawn: one per spawn
/// (two where clone3 is refused and clone follows).
long calls(Call c);

}  // namespace procctx::testing
