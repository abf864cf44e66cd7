/// @file
/// @brief procctx-testchild, the kit's misbehaving child, and waiting until it is ready.
///
/// @code
///   auto cmd = procctx::testing::child({"ignore=TERM", "fork=2", "sleep=60"});
///   auto p = procctx::testing::spawn_ready(cmd, ctx);   // returns once it ignores TERM and has forked
/// @endcode
///
/// procctx-testchild is a small program installed with the library (libprocctx-dev puts it in
/// LIBEXECDIR/procctx/) that does, in order, the behaviours it is given: sleep, exit, die by a
/// signal, ignore signals, flood stdout or stderr, leave a grandchild holding its output, leave a
/// daemon in a session of its own, fork, stop itself, close stdout, read stdin, print its
/// environment, fds and ids. The table is in docs/testing.md and in `procctx-testchild --help`.
///
/// The library finds the program itself, never through PATH: `$PROCCTX_TESTCHILD` when set, else
/// where the build system that found procctx::testing says it is (the CMake package passes its own
/// location, so an installed tree that was moved still works), else where procctx's own build
/// installs it.
///
/// What it will not do: run anything through a shell, or leave a child behind by itself (its
/// grandchildren and daemons end after their SECONDS; see docs/testing.md).
#pragma once

#include <procctx/clock.hpp>
#include <procctx/command.hpp>
#include <procctx/context.hpp>
#include <procctx/process.hpp>
#include <procctx/result.hpp>
#include <procctx/source_location.hpp>

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

/// The place of procctx-testchild as the build system that found procctx::testing knows it
/// (CMake's imported target defines PROCCTX_TESTCHILD_PATH); without it the library's own.
#ifdef PROCCTX_TESTCHILD_PATH
#define PROCCTX_TESTING_CHILD_HINT PROCCTX_TESTCHILD_PATH
#else
#define PROCCTX_TESTING_CHILD_HINT nullptr
#endif

namespace procctx::testing {

namespace internal {
/// testchild_path() with the caller's build-system hint (may be nullptr).
Result<std::string> find_testchild(const char* hint);
/// child() with the caller's build-system hint (may be nullptr).
Command testchild_command(std::vector<std::string> behaviours, const char* hint);
}  // namespace internal

/// Where procctx-testchild is: `$PROCCTX_TESTCHILD` if set (as it is, even if missing), else the
/// first executable one of: the build system's location (PROCCTX_TESTCHILD_PATH), the library's
/// own installed location. The error lists every place looked at.
inline Result<std::string> testchild_path() { return internal::find_testchild(PROCCTX_TESTING_CHILD_HINT); }

/// A Command running procctx-testchild with these behaviours, e.g. {"exit=3"} or
/// {"ignore=TERM", "sleep=60"}. Change it like any Command (stdio, stop sequence, tree). When
/// the program cannot be found, the Command names the first place looked at, so spawn() fails
/// with errc::not_found naming it (testchild_path() says more).
inline Command child(std::vector<std::string> behaviours) {
  return internal::testchild_command(std::move(behaviours), PROCCTX_TESTING_CHILD_HINT);
}

/// Waits until kit children are ready: each procctx-testchild spawned from a Command armed here
/// writes one byte to the latch once it reaches its first sleep, read-stdin, stop-self, exit,
/// signal or the end of its list, after everything before that (ignore=, fork=, setsid-daemon
/// and the readiness of what they started). So a test that cancels or advances its Clock right
/// after wait() knows the child already ignores SIGTERM and has forked.
///
/// The latch is a pipe (both ends close-on-exec; the write end reaches armed children only). Any
/// program can take part: it finds the fd number in `$PROCCTX_TESTCHILD_READY_FD`.
/// Threads: arm() from any thread; wait() from one at a time.
class ReadyLatch {
 public:
  /// Makes the pipe. If the kernel refuses it, wait() returns that error.
  ReadyLatch();
  ReadyLatch(const ReadyLatch&) = delete;
  ReadyLatch& operator=(const ReadyLatch&) = delete;
  /// Closes both ends.
  ~ReadyLatch();

  /// `cmd`, changed to report to this latch (one more pass_fd() and the environment variable).
  Command arm(Command cmd) const;
  /// Waits (in real time) until `n` reports have come since the latch was made, counting every
  /// earlier wait's. Errors: `timeout` passed first (errc::deadline_exceeded, saying how many came),
  /// or the latch has no pipe.
  Result<void> wait(std::size_t n = 1, Duration timeout = std::chrono::seconds(10));
  /// Closes the latch's own write end, once every armed Command has been spawned: from then on
  /// wait() also returns (successfully) when every armed process has ended, reported or not.
  void seal() noexcept;

 private:
  int read_ = -1, write_ = -1, error_ = 0;
  std::size_t seen_ = 0;
};

/// Spawns `cmd` (a child() Command) and returns once it is ready (see ReadyLatch), or once it
/// has ended before being ready. Errors: the spawn's, or the child did not report within
/// `timeout` (then it is stopped as a dropped Process is).
Result<Process> spawn_ready(const Command& cmd, const Context& ctx = background(),
                            Duration timeout = std::chrono::seconds(10),
                            SourceLocation where = SourceLocation::current());

}  // namespace procctx::testing
