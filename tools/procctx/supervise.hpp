// supervise.hpp — what `procctx run` and `procctx timeout` share while a
// command runs: the signals sent to procctx and the command's outcome, as
// one stream of events, fed by the library (on_signal, Process::on_exit);
// job control follows the command on a terminal.
#pragma once

#include "exit_codes.hpp"
#include "messages.hpp"
#include "spawn_failure.hpp"
#include "terminal.hpp"

#include <procctx/procctx.hpp>

#include <condition_variable>
#include <csignal>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <vector>

namespace procctx::cli {

// True when procctx's parent left `sig` ignored (SIG_IGN), as a shell does
// for SIGINT and SIGQUIT in a background job, or nohup for SIGHUP: such a
// signal is neither handled nor passed on (coreutils 9.10).
bool ignored_at_start(int sig);

// Blocks `signals` in the calling thread — and so in every thread started
// after, procctx's loop thread included — and returns a non-blocking
// signalfd that reads them (-1 on failure). For `procctx batch`, which still
// reads its signals so; run and timeout use the library's on_signal().
int block_into_signalfd(const sigset_t& signals);

class Supervisor {
 public:
  Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // Takes over `signals`: from now on they reach next() instead of their
  // default action. procctx's own writes to a closed pipe fail with EPIPE
  // rather than kill it, unless SIGPIPE is one of `signals`. A SIGCHLD that
  // procctx's parent ignored is reset (the kernel would reap the command
  // before procctx could see how it ended). Errors: the library's.
  Result<void> take_over(const std::vector<int>& signals);

  // From now on `sig` is ignored rather than reported (as GNU timeout does
  // with a signal it has passed on to the command's group): a forwarded
  // SIGPIPE that our own write to a closed stderr raises again, say, is not
  // forwarded forever.
  void ignore(int sig);

  // Starts watching `p`; with `terminal`, job control follows p (SIGCHLD).
  Result<void> watch(const Process& p, Terminal* terminal);

  struct Event {
    enum Kind { signal, exited, timeout } kind;
    int sig = 0;  // for Kind::signal
  };
  // The next signal to procctx, or the child's outcome being known (which
  // wins over a signal that comes with it: GNU timeout stops looking once it
  // has reaped), or `until` passing.
  Event next(std::optional<TimePoint> until);

 private:
  // What the library's callbacks (on procctx's loop thread) hand over.
  struct Queue {
    std::mutex mu;
    std::condition_variable changed;
    std::deque<int> signals;  // SIGCHLD among them, for job control
    bool exited = false;
  };
  std::shared_ptr<Queue> queue_ = std::make_shared<Queue>();
  std::vector<SignalWatch> watches_;
  std::set<int> ignored_;
  Terminal* terminal_ = nullptr;
};

// Ends procctx by `sig` (default action, core dumps off), or exits with
// 128 + sig when the signal does not kill (as PID 1, say).
[[noreturn]] void die_of(int sig);

}  // namespace procctx::cli
