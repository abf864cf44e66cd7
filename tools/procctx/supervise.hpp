// supervise.hpp — what `procctx run` and `procctx timeout` share: exit
// codes, GNU duration syntax, and the Supervisor that waits for a child
// while handling the signals sent to procctx, job control on a terminal,
// and the relaying of output pipes.
#pragma once

#include <procctx/procctx.hpp>

#include <csignal>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace procctx::cli {

// Exit codes, as GNU timeout's.
inline constexpr int kExitTimedOut = 124;
inline constexpr int kExitFailure = 125;      // procctx itself failed (bad usage, cannot spawn)
inline constexpr int kExitCannotRun = 126;    // found, but not executable
inline constexpr int kExitNotFound = 127;
inline constexpr int kExitSignalBase = 128;   // + the signal that killed the command

// A spawn error as the CLI reports it: 127 (not found) or 126 (not
// executable) with "failed to run command 'x': <strerror>" when the program
// itself could not be run (GNU timeout's words), else 125 with procctx's
// whole message.
struct SpawnFailure {
  int exit_code;
  std::string text;
};
SpawnFailure describe_spawn_failure(const Error& e, std::string_view program);

// GNU timeout's duration: a non-negative floating-point number with an
// optional suffix s, m, h or d ("1.5", "2m", "0.25d", "inf"). nullopt when
// invalid. 0 means "no timeout".
std::optional<double> parse_gnu_duration(std::string_view text);
// The same as a Duration; Duration::max() ("never") past about a century.
Duration seconds_to_duration(double seconds);

// The signals procctx takes over while it supervises: when they reach
// procctx, the subcommand decides what the child gets.
inline constexpr int kHandledSignals[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGALRM, SIGUSR1, SIGUSR2};

// Blocks `signals` in the calling thread — and so in every thread started
// after, procctx's loop thread included — and returns a non-blocking
// signalfd that reads them (-1 on failure). Call before anything starts a
// thread.
int block_into_signalfd(const sigset_t& signals);

class Supervisor {
 public:
  // Must run before anything starts a thread (procctx's loop thread
  // inherits the signal mask): blocks kHandledSignals, SIGCHLD and `extra`
  // (0: none) and reads them from a signalfd instead; ignores SIGTTIN and
  // SIGTTOU (so procctx can take the terminal back).
  explicit Supervisor(int extra_signal = 0);
  ~Supervisor();
  Supervisor(const Supervisor&) = delete;
  Supervisor& operator=(const Supervisor&) = delete;

  // The controlling terminal when procctx runs in its foreground (so the
  // child should get it), else -1.
  int foreground_terminal() const noexcept { return tty_; }

  // Starts watching `p`. With `owns_terminal`, p's process group was given
  // the terminal: Ctrl-Z stops it, and then procctx gives the terminal back
  // and stops itself, so the shell's job control works; when continued, it
  // hands the terminal over again and continues the child.
  void watch(const Process& p, bool owns_terminal);

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

  // Gives the terminal back to procctx's process group (if it was handed out).
  void take_terminal_back();

  // Ends procctx by `sig` (default action, core dumps off), or exits with
  // 128 + sig when the signal does not kill.
  [[noreturn]] void die_of(int sig);

 private:
  struct Relay {
    int in = -1, out = -1;  // out: -1 once writing to it failed (bytes still counted)
    int target = -1;
    std::uint64_t bytes = 0, written = 0;
    int error = 0;               // the first write error
    bool broken_pending = false;  // EPIPE seen, not yet reported by next()
  };
  bool pump(Relay& r);  // false at EOF, a read error, or a reader that went away
  void on_child_signal();

  sigset_t handled_{};
  int sigfd_ = -1;
  int exitfd_ = -1;  // eventfd written on the loop thread when the outcome is known
  int tty_ = -1;
  bool owns_terminal_ = false;
  const Process* process_ = nullptr;
  std::vector<Relay> relays_;
};

// 'text' quoted like GNU's quote() in the C locale.
std::string quote(std::string_view text);

}  // namespace procctx::cli
