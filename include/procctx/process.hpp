/// @file
/// @brief A running child and its outcome.
///
/// Process is a move-only handle to one child, owning its pidfd (the pid is
/// informational: every signal goes through the pidfd, so a reused pid is
/// never hit). procctx's loop thread reaps every child it starts, so a
/// Process can be waited for from any number of threads, or not at all:
///
/// @code
///   auto p = procctx::Command{"make", {"-j8"}}.out(procctx::Stdio::capture()).spawn(ctx);
///   if (!p) return p.error();              // could not start: says why
///   const procctx::Completed& c = p->wait();
///   std::cout << c.status.to_string();     // "exited 0", "killed by SIGKILL"
/// @endcode
///
/// Destroying a Process whose child still runs starts the stop sequence and
/// returns at once; the loop reaps the child (never a zombie, never a blocked
/// destructor). detach() lets it run on instead, still reaped when it exits.
///
/// What it will not do: raise SIGPIPE in the caller (writes to a dead child
/// return EPIPE), or hang on pipes held by grandchildren beyond wait_delay.
#pragma once

#include <procctx/clock.hpp>
#include <procctx/command.hpp>
#include <procctx/context.hpp>
#include <procctx/export.hpp>
#include <procctx/result.hpp>

#include <coroutine>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <sys/types.h>

namespace procctx {

namespace detail {
class ChildState;
struct SpawnAccess;
}  // namespace detail

/// How a process ended: an exit code, or a signal (with or without a core).
class PROCCTX_EXPORT ExitStatus {
 public:
  ExitStatus() = default;  ///< "unknown": not reaped (or reaped by someone else)
  /// A status of a process that exited with `code`.
  static ExitStatus exited_with(int code) noexcept { return ExitStatus{State::exited, code}; }
  /// A status of a process killed by signal `sig` (with a core dump if `core`).
  static ExitStatus killed_by(int sig, bool core = false) noexcept {
    return ExitStatus{core ? State::dumped : State::killed, sig};
  }

  /// False for the default "unknown" status.
  bool known() const noexcept { return state_ != State::unknown; }
  /// True when the process exited by itself (with code()).
  bool exited() const noexcept { return state_ == State::exited; }
  int code() const noexcept { return exited() ? value_ : -1; }  ///< -1 unless exited()
  /// True when a signal killed it (see signal() and core_dumped()).
  bool signaled() const noexcept { return state_ == State::killed || state_ == State::dumped; }
  int signal() const noexcept { return signaled() ? value_ : 0; }  ///< 0 unless signaled()
  /// True when it was killed by a signal and dumped core.
  bool core_dumped() const noexcept { return state_ == State::dumped; }
  /// True only for an exit with code 0.
  bool success() const noexcept { return exited() && value_ == 0; }
  /// The shell's $?: the code, or 128 + signal.
  int shell_code() const noexcept { return signaled() ? 128 + value_ : (exited() ? value_ : 255); }
  /// "exited 3", "killed by SIGKILL", "killed by SIGSEGV (core dumped)", "unknown".
  std::string to_string() const;

  /// Equal when both the kind (exited, killed, dumped, unknown) and the value match: exit 137 is not SIGKILL.
  friend bool operator==(const ExitStatus&, const ExitStatus&) = default;

 private:
  enum class State : unsigned char { unknown, exited, killed, dumped };
  ExitStatus(State s, int v) : state_(s), value_(v) {}
  State state_ = State::unknown;
  int value_ = 0;
};

/// Why procctx stopped the child, if it did.
enum class StopReason {
  none,       ///< it ended by itself
  canceled,   ///< its context was cancelled
  deadline,   ///< its context's deadline passed
  dropped,      ///< its Process was destroyed while it ran
  requested,    ///< Process::stop() or kill() was called
  broken_pipe,  ///< the reader of a relayed stream went away (Stdio::relay, BrokenPipe::stop)
};
/// "none", "canceled", "deadline", "dropped", "requested" or "broken_pipe".
PROCCTX_EXPORT std::string_view to_string(StopReason r) noexcept;

/// What became of one output stream. Captured (Stdio::capture): all the
/// bytes, or, past the capture limit, the first and the last limit/2 bytes
/// with a count of those between. Relayed (Stdio::relay): no text, the
/// bytes the child wrote (total()), those that could not be written on
/// (dropped()) and why (error()). Copies share the (immutable) bytes.
class Output {
 public:
  Output() = default;
  /// Made by procctx from what it captured; an empty Output is empty text.
  Output(std::shared_ptr<const char[]> storage, std::size_t size, std::uint64_t dropped, std::size_t cut)
      : storage_(std::move(storage)), size_(size), dropped_(dropped), cut_(cut) {}
  /// Made by procctx for a relayed stream: what was written on, what was not, and why.
  static Output relayed(std::uint64_t delivered, std::uint64_t dropped, std::error_code error) {
    Output o;
    o.delivered_ = delivered;
    o.dropped_ = dropped;
    o.error_ = error;
    return o;
  }

  /// The kept bytes (head + tail when truncated).
  std::string_view text() const noexcept { return {storage_ ? storage_.get() : "", size_}; }
  /// The kept bytes, copied into a string.
  std::string str() const { return std::string{text()}; }
  /// The same as text().
  operator std::string_view() const noexcept { return text(); }  // NOLINT: a view of the bytes
  std::uint64_t dropped() const noexcept { return dropped_; }    ///< bytes dropped between head and tail
  std::size_t cut() const noexcept { return cut_; }              ///< where in text() they were dropped
  /// Every byte the child wrote: kept (or delivered) plus dropped.
  std::uint64_t total() const noexcept { return size_ + delivered_ + dropped_; }
  /// A relay's bytes written on to its fd (0 for a capture: see text()).
  std::uint64_t delivered() const noexcept { return delivered_; }
  /// True when bytes were dropped (the capture limit was reached, or a relay could not write them).
  bool truncated() const noexcept { return dropped_ > 0; }
  /// A relay's first write error (EPIPE: the reader went away; ENOSPC, EBADF, ...); empty if none.
  const std::error_code& error() const noexcept { return error_; }

 private:
  std::shared_ptr<const char[]> storage_;
  std::size_t size_ = 0;
  std::uint64_t dropped_ = 0;
  std::size_t cut_ = std::string::npos;
  std::uint64_t delivered_ = 0;
  std::error_code error_;
};

/// A signal procctx sent while stopping the child.
struct SignalSent {
  int signal = 0;                     ///< The signal number (SIGTERM, SIGKILL, ...).
  Duration at{};                      ///< since the child started
  Tree target = Tree::process_group;  ///< What it was sent to: the group, the cgroup or only the child.
};

/// Another process of interest (a pipe holder, a leftover), as procctx saw it.
struct ProcessRef {
  pid_t pid = 0;     ///< Its pid when procctx saw it.
  std::string name;  ///< from /proc/PID/comm
};
using PipeHolder = ProcessRef;  ///< A process that held a child's output pipe open.

/// The child's resource usage, as the kernel reports it when the child is reaped.
struct Rusage {
  Duration user{};       ///< CPU time in user mode.
  Duration system{};     ///< CPU time in the kernel.
  long max_rss_kib = 0;  ///< Peak resident set size, in KiB.
};

/// Everything known about a finished child. A non-zero exit is data here;
/// check() turns it into an Error when that is what the caller wants.
struct PROCCTX_EXPORT Completed {
  pid_t pid = 0;                              ///< The child's pid (informational: it may be reused now).
  std::vector<std::string> argv;              ///< argv as the child saw it.
  ExitStatus status;                          ///< How it ended: an exit code, or a signal.
  StopReason stop_reason = StopReason::none;  ///< Whether procctx stopped it, and why.
  std::string cause;                          ///< the context's cause when it stopped the child
  int stop_stage = -1;                        ///< index of the last stop step reached (-1: none)
  std::vector<SignalSent> signals;            ///< what the stop sequence sent, in order
  Output out;                                 ///< with Stdio::capture() or Stdio::relay()
  Output err;                                 ///< With Stdio::capture() or Stdio::relay() for stderr.
  std::vector<ProcessRef> pipe_holders;       ///< held the output pipes when wait_delay ran out
  std::vector<ProcessRef> leftovers;          ///< still in the tree when the child exited by itself
  bool stdin_closed_early = false;            ///< Stdio::data: the child stopped reading
  std::uint64_t stdin_written = 0;            ///< Stdio::data: how many bytes the child took.
  Tree tree = Tree::process_group;            ///< the tree mode actually used
  std::string tree_note;                      ///< why it differs from the one asked for, if it does
  std::string cgroup;                         ///< the cgroup leaf used (removed afterwards)
  bool oom_killed = false;                    ///< the cgroup's OOM killer struck (memory_max)
  Duration wall{};                            ///< From spawn to the outcome.
  Rusage rusage;                              ///< CPU time and peak memory.

  /// Ok when status.success(); else an Error "'make' exited 2" (with the
  /// stop reason and cause when procctx stopped it).
  Result<void> check() const;
};

/// What Writer and Reader share: one parent end of a Stdio::pipe() stream,
/// and the context whose end bounds every wait on it. Move-only; closes its
/// fd when destroyed.
class PROCCTX_EXPORT PipeEnd {
 public:
  PipeEnd() = default;
  /// Moves the pipe end; `o` is left closed.
  PipeEnd(PipeEnd&& o) noexcept : fd_(std::exchange(o.fd_, -1)), ctx_(std::move(o.ctx_)) {}
  /// Closes this end, then takes over `o`'s.
  PipeEnd& operator=(PipeEnd&& o) noexcept {
    if (this != &o) {
      close();
      fd_ = std::exchange(o.fd_, -1);
      ctx_ = std::move(o.ctx_);
    }
    return *this;
  }
  PipeEnd(const PipeEnd&) = delete;
  PipeEnd& operator=(const PipeEnd&) = delete;
  ~PipeEnd() { close(); }

  /// Closes the parent's end (for stdin: EOF to the child; for stdout or
  /// stderr: a child that still writes gets EPIPE, or SIGPIPE).
  void close() noexcept;
  /// True until close() (or a move) gave up the pipe end.
  bool is_open() const noexcept { return fd_ >= 0; }

 protected:
  // Waits until the pipe is ready for `events` or the context ends.
  Result<void> wait_ready(short events, const char* what) const;
  int fd_ = -1;
  Context ctx_;

 private:
  friend struct detail::SpawnAccess;
};

/// The parent's end of a Stdio::pipe() stdin. Writes never raise SIGPIPE and
/// never block past the process's context.
class PROCCTX_EXPORT Writer : public PipeEnd {
 public:
  /// Writes all of `bytes`. Errors: EPIPE when nobody reads any more,
  /// errc::canceled / deadline_exceeded when the context ended first, EBADF
  /// when this is not a pipe or was closed. After an error, written() says
  /// how many bytes got through in all, this call's included.
  Result<void> write(std::string_view bytes);
  /// Bytes the pipe took so far, over every write().
  std::uint64_t written() const noexcept { return written_; }

 private:
  std::uint64_t written_ = 0;
};

/// The parent's end of a Stdio::pipe() stdout or stderr.
class PROCCTX_EXPORT Reader : public PipeEnd {
 public:
  /// Reads what is there (blocking until something is); 0 means EOF.
  /// Errors as Writer::write.
  Result<std::size_t> read(std::span<char> buffer);
  /// Reads to EOF.
  Result<std::string> read_all();
};

/// A running (or finished) child: a move-only handle owning its pidfd. See the top of this file.
class PROCCTX_EXPORT Process {
 public:
  /// Moves the handle; `o` no longer refers to a child.
  Process(Process&&) noexcept;
  /// Lets go of this handle's child as the destructor does, then takes over `o`'s.
  Process& operator=(Process&&) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  /// Running and not detached: starts the stop sequence and returns at once.
  ~Process();

  /// The child's pid: for logs only (signal through this Process, never by pid).
  pid_t pid() const noexcept;

  /// Blocks until the outcome is known. Any number of threads may wait at
  /// once; all see the same Completed, which lives as long as this Process.
  const Completed& wait() const;
  /// The outcome if already known, else nullptr.
  const Completed* try_wait() const noexcept;
  /// Waits at most `d`; nullptr if the outcome is still unknown.
  const Completed* wait_for(Duration d) const;

  /// Sends `sig` to the child itself (through its pidfd). After it has been
  /// reaped: errc::process_exited.
  Result<void> signal(int sig) const;
  /// Sends `sig` to the whole tree (group or cgroup; the child itself with
  /// Tree::none), e.g. to forward a signal procctx's caller received. It is
  /// not a stop: the outcome's stop reason stays as it is. After the tree is
  /// gone: errc::process_exited.
  Result<void> signal_tree(int sig) const;
  /// SIGKILL to the whole tree (group or cgroup), now.
  Result<void> kill() const;
  /// Runs the stop sequence now; returns at once (wait() to see the end).
  void stop() const;
  /// Lets the child outlive this handle. procctx still reaps it.
  void detach() noexcept;

  /// Runs fn(outcome) once, on procctx's loop thread, when the outcome is
  /// known (soon, if it already is). It shares the thread that serves every
  /// child and timer: keep it short, never block in it. The Completed is
  /// valid during the call.
  void on_exit(std::function<void(const Completed&)> fn) const;
  /// The outcome as a future (a copy; captured output is shared, not copied).
  std::future<Completed> wait_async() const;

  /// co_await process.completion() suspends until the outcome is known and
  /// resumes the coroutine on procctx's loop thread (the same rules as
  /// on_exit apply to what runs there before the next suspension). The
  /// Process must outlive the co_await.
  class CompletionAwaiter {
   public:
    /// The awaiter protocol; co_await gives the Completed. It always
    /// suspends, so the coroutine always resumes on the loop thread.
    bool await_ready() const noexcept { return false; }
    /// Resumes the coroutine from on_exit(), on the loop thread.
    void await_suspend(std::coroutine_handle<> h) const {
      process_->on_exit([h](const Completed&) { h.resume(); });
    }
    /// The outcome.
    const Completed& await_resume() const { return process_->wait(); }

   private:
    friend class Process;
    explicit CompletionAwaiter(const Process* p) : process_(p) {}
    const Process* process_;
  };
  /// Something to co_await: `const Completed& c = co_await p.completion();`.
  CompletionAwaiter completion() const noexcept { return CompletionAwaiter{this}; }

  /// Pipe ends for Stdio::pipe() streams (closed Writer/Reader otherwise).
  Writer& in() noexcept { return in_; }
  /// The stdout pipe end, with Stdio::pipe() for stdout.
  Reader& out() noexcept { return out_; }
  /// The stderr pipe end, with Stdio::pipe() for stderr.
  Reader& err() noexcept { return err_; }

 private:
  friend struct detail::SpawnAccess;
  explicit Process(std::shared_ptr<detail::ChildState> s) noexcept;
  std::shared_ptr<detail::ChildState> state_;
  Writer in_;
  Reader out_;
  Reader err_;
};

/// The same as cmd.run(ctx).
inline Result<Completed> run(const Context& ctx, const Command& cmd,
                             SourceLocation where = SourceLocation::current()) {
  return cmd.run(ctx, where);
}

}  // namespace procctx
