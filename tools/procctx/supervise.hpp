// supervise.hpp — what `procctx run` and `procctx timeout` share while a
// command runs: the signals sent to procctx, the command's outcome, job
// control, and the relaying of its output pipes, as one stream of events.
#pragma once

#include "exit_codes.hpp"
#include "messages.hpp"
#include "spawn_failure.hpp"
#include "terminal.hpp"

#include <procctx/procctx.hpp>

#include <csignal>
#include <cstdint>
#include <optional>
#include <vector>

namespace procctx::cli {

// True when procctx's parent left `sig` ignored (SIG_IGN), as a shell does
// for SIGINT and SIGQUIT in a background job, or nohup for SIGHUP: such a
// signal is neither handled nor passed on (coreutils 9.10).
bool ignored_at_start(int sig);

// Blocks `signals` in the calling thread — and so in every thread started
// after, procctx's loop thread included — and returns a non-blocking
// signalfd that reads them (-1 on failure). Call before anything starts a
// thread.
int block_into_signalfd(const sigset_t& signals);

class Supervisor {
 public:
  // Must run before anything starts a thread (procctx's loop thread
  // inherits the signal mask): takes over `signals` (and SIGCHLD, for job
  // control), which then reach next() instead of their default action.
  // procctx's own writes to a closed pipe fail with EPIPE rather than
  // kill it, unless SIGPIPE is one of `signals`.
  explicit Supervisor(const std::vector<int>& signals);
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // From now on `sig` is ignored rather than reported (as GNU timeout does
  // with a signal it has passed on to the command's group): a forwarded
  // SIGPIPE that our own write to a closed stderr raises again, say, is not
  // forwarded forever.
  void ignore(int sig);

  // Starts watching `p`; with `terminal`, job control follows p.
  void watch(const Process& p, Terminal* terminal);

  // Copies what arrives on `read_fd` to `out_fd` while waiting, counting
  // the bytes. Takes ownership of read_fd.
  void relay(int read_fd, int out_fd);

  // What became of the bytes relayed to one fd of procctx's.
  struct RelayTotals {
    std::uint64_t read = 0;     // from the command
    std::uint64_t written = 0;  // to procctx's fd
    int error = 0;              // the first write error (errno), 0 if none
  };
  RelayTotals relayed_to(int out_fd) const;

  struct Event {
    // broken_pipe: the reader of a relayed fd went away (EPIPE); the relay's
    // read end is closed, so the command's next write fails as in a shell.
    enum Kind { signal, exited, timeout, broken_pipe } kind;
    int sig = 0;  // for Kind::signal
    int fd = -1;  // for Kind::broken_pipe: procctx's fd whose reader is gone
  };
  // The next signal to procctx, or the child's outcome being known, or
  // `until` passing, or a reader of procctx's output going away. Relays run
  // meanwhile.
  Event next(std::optional<TimePoint> until);

  // After the child is done: relays until each pipe reaches EOF or `until`
  // passes. Returns the processes that still held a pipe then (the pipes
  // are closed either way).
  std::vector<ProcessRef> drain(TimePoint until);

 private:
  struct Relay {
    int in = -1, out = -1;  // out: -1 once writing to it failed (bytes still counted)
    int target = -1;
    std::uint64_t bytes = 0, written = 0;
    int error = 0;               // the first write error
    bool broken_pending = false;  // EPIPE seen, not yet reported by next()
  };
  bool pump(Relay& r);  // false at EOF, a read error, or a reader that went away
  void pump_ready(const std::vector<short>& revents);
  std::optional<Event> read_signal();

  sigset_t handled_{};
  int sigfd_ = -1;
  int exitfd_ = -1;  // eventfd written on the loop thread when the outcome is known
  Terminal* terminal_ = nullptr;
  std::vector<Relay> relays_;
};

// Ends procctx by `sig` (default action, core dumps off), or exits with
// 128 + sig when the signal does not kill (as PID 1, say).
[[noreturn]] void die_of(int sig);

}  // namespace procctx::cli
