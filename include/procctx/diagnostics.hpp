/// @file
/// @brief What procctx holds right now, where it came from, and what it did.
///
/// @code
///   procctx::dump(std::cerr);   // every live child, with the line that spawned it
/// @endcode
///
/// stats() counts; snapshot() lists every child procctx still tracks
/// (running, being stopped, or finished while a Process handle still holds
/// its outcome), each with the source location of its spawn()/run() call.
/// LeakCheck turns the same knowledge into a test assertion, and
/// `PROCCTX_DEBUG=leaks` into a report at exit. trace::start(path) …
/// trace::stop() (or `PROCCTX_TRACE=path` in the environment) records a
/// timeline that opens in Perfetto.
///
/// What it will not do: be cheap enough for a hot loop (stats() and
/// snapshot() take procctx's registry lock and copy; they suit a debug
/// endpoint), or see processes procctx did not start (pipe_holders() and
/// LeakCheck read /proc for those).
#pragma once

#include <procctx/command.hpp>
#include <procctx/context.hpp>
#include <procctx/export.hpp>
#include <procctx/process.hpp>
#include <procctx/result.hpp>
#include <procctx/source_location.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include <sys/types.h>

namespace procctx {

/// Counts of what procctx holds, at one moment.
struct Stats {
  std::size_t children = 0;        ///< tracked children, all states
  std::size_t running = 0;         ///< not yet reaped
  std::size_t uncollected = 0;     ///< finished, but no wait()/try_wait() has seen the outcome
  std::size_t dropped = 0;         ///< their Process was destroyed while they ran
  std::size_t detached = 0;        ///< let go with Process::detach() (still reaped)
  std::size_t pipe_fds = 0;        ///< capture/feed pipe ends held by the loop
  std::size_t pending_timers = 0;  ///< deadlines, stop steps, wait delays
  std::size_t registrations = 0;   ///< live Context::on_done callbacks
  std::size_t threads = 0;         ///< library threads (0 before first use, then 1)
};
/// The counts now.
PROCCTX_EXPORT Stats stats();

/// One child procctx tracks, as snapshot() saw it.
struct ChildInfo {
  /// Where the child is in its life.
  enum class State {
    running,   ///< not reaped, no stop sequence under way
    stopping,  ///< a stop sequence is working on its tree
    exited,    ///< reaped; a Process handle still holds the outcome
  };
  pid_t pid = 0;                    ///< the child's pid
  std::vector<std::string> argv;    ///< what it runs
  State state = State::running;     ///< see State
  Duration age{};                   ///< since it was spawned
  Tree tree = Tree::process_group;  ///< the tree mode in use
  bool dropped = false;             ///< its Process was destroyed while it ran
  bool detached = false;            ///< let go with Process::detach()
  bool collected = false;           ///< a wait() has seen the outcome
  SourceLocation spawned_at;        ///< the spawn()/run() call that started it
  /// Processes that still held its output pipes when wait_delay ran out.
  std::vector<ProcessRef> pipe_holders;
};
/// Every child procctx tracks now, oldest first.
PROCCTX_EXPORT std::vector<ChildInfo> snapshot();

/// Every process but this one holding an fd on the same pipe as `fd` (the
/// writers keeping a reader from seeing EOF, for instance), from /proc.
PROCCTX_EXPORT std::vector<ProcessRef> pipe_holders(int fd);

/// Writes snapshot() readably, one child per line, like a goroutine dump
/// (with a line naming the pipe holders of children that had any).
PROCCTX_EXPORT void dump(std::ostream& out);

/// A timeline of what procctx does, as a Chrome trace-event JSON file
/// (`{"traceEvents":[...]}`) for ui.perfetto.dev or chrome://tracing.
///
/// Each child is a lane (numbered by its pid) holding a span from spawn
/// until its outcome is final, named by argv[0] (args: pid, argv, spawn
/// site; at the end: status, stop reason and cause, pipe holders), and
/// instant events for the stop beginning, each signal sent (name, stop
/// stage), a context ending (cause: canceled or deadline_exceeded), the
/// exit, EOF on captured stdout/stderr, wait_delay running out and the pipe
/// holders found then (pids and argv). Each Group and Pipeline gets a lane
/// with a span around its members, which name it in their "group_lane"
/// argument.
///
/// Events are kept in memory (up to 64 MiB of them; past that they are
/// counted in the file's "otherData" as dropped_events) and written when
/// tracing stops: by stop(), or at exit (from an atexit handler; a process
/// ending by _exit or a signal writes nothing). Setting `PROCCTX_TRACE=path`
/// in the environment starts tracing when procctx is first used. While
/// tracing is off an event site costs one relaxed atomic load.
///
/// Threads: any thread may start and stop tracing, while children run.
namespace trace {
/// Opens (creates or truncates) `path` and starts recording. Errors: the
/// file cannot be opened ("trace: open /x/t.json: Permission denied"), or a
/// trace is already running (errc::invalid_argument, naming its file).
PROCCTX_EXPORT Result<void> start(std::string path);
/// Stops recording and writes the file, then closes it. Without a running
/// trace, does nothing. Errors name the file and the failing write.
PROCCTX_EXPORT Result<void> stop();
/// Whether a trace is being recorded.
PROCCTX_EXPORT bool enabled() noexcept;
}  // namespace trace

/// For tests: records this process's children, fds (/proc/self/fd) and
/// threads (/proc/self/task) at construction; check() reports each one that
/// appeared since and is still there — after giving procctx's loop `grace`
/// to finish reaping — one line each: a child procctx started as
/// "leaked child PID (ARGV, STATE); spawned at FILE:LINE in FUNCTION" (its
/// own pidfd is part of it, not a leak of its own), an fd with what it
/// points to, a thread with its name. Things created and cleaned up inside
/// the scope are not reported. procctx's own loop thread and its fds belong
/// to the baseline (the constructor starts the loop), but a second library
/// thread would be reported.
class PROCCTX_EXPORT LeakCheck {
 public:
  /// How check() behaves.
  struct Options {
    /// How long check() lets procctx's loop finish reaping before it reports.
    std::chrono::milliseconds grace{5000};
    /// Called once per leak (e.g. a test framework's failure macro);
    /// default: print to stderr.
    std::function<void(const std::string&)> on_leak;
  };
  /// Records the baseline, with the default Options.
  LeakCheck() : LeakCheck(Options{}) {}
  /// Records the baseline (starting procctx's loop if it is not running).
  explicit LeakCheck(Options options);
  LeakCheck(const LeakCheck&) = delete;             ///< not copyable
  LeakCheck& operator=(const LeakCheck&) = delete;  ///< not copyable
  /// Runs check() unless it has run.
  ~LeakCheck();
  /// Every leak, described (empty when clean); each is also passed to on_leak.
  std::vector<std::string> check();

 private:
  std::vector<std::string> leaks_now() const;
  Options options_;
  std::vector<int> fds_, threads_, children_;
  bool checked_ = false;
};

}  // namespace procctx
