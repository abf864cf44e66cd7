// trace.hpp — the library's side of procctx::trace: the event sites.
//
// Every site is written `if (trace::on()) trace::x(...);`, so
// while tracing is off an event costs one relaxed atomic load and nothing
// else: no allocation, no lock, no formatting. While it is on, each event is
// formatted on the calling thread and appended, under one mutex, to an
// in-memory buffer of bounded size, which stop() (or the exit handler)
// writes out in one go as Chrome trace-event JSON.
//
// Lanes ("tid" in the file): a child's events go to the lane numbered by its
// pid; each Group and Pipeline has a lane of its own above kScopeLaneBase.
#pragma once

#include <procctx/process.hpp>
#include <procctx/source_location.hpp>

#include <atomic>
#include <cstdint>
#include <string>
#include <system_error>
#include <vector>

#include <sys/types.h>

namespace procctx::detail::trace {

extern std::atomic<bool> active;
inline bool on() noexcept { return __builtin_expect(active.load(std::memory_order_relaxed), false); }

// Starts tracing to $PROCCTX_TRACE if it is set, the first time it is
// called (the first spawn calls it). A file that cannot be opened is
// reported on stderr, once.
void start_from_env_once() noexcept;

// A span begun in one trace session, to be ended in the same one (a span
// begun before a stop() is not ended in the next trace).
struct Span {
  std::int64_t lane = 0;
  std::uint32_t session = 0;
  explicit operator bool() const noexcept { return session != 0; }
};

// What a child's span begins with.
struct Spawned {
  pid_t pid = 0;
  const std::vector<std::string>& argv;
  TimePoint started;
  SourceLocation where;
  Tree tree = Tree::process_group;
  const std::string& tree_note;
};

// Children, on their pid's lane.
Span spawned(const Spawned& s);  // begins the span: argv, pid, spawn site
void stop_begun(pid_t pid, StopReason reason, const std::string& cause);
// `stage` -1: not from the stop sequence; `then_continue`: SIGCONT follows.
void signal_sent(pid_t pid, int sig, int stage, const char* by, Tree target, bool then_continue);
void context_done(pid_t pid, std::error_code err, const std::string& cause);
void exited(pid_t pid, const ExitStatus& status);
void pipe_eof(pid_t pid, int stream, std::uint64_t bytes);
void wait_delay_expired(pid_t pid, const std::string& open_streams, Duration wait_delay);
void pipe_held(pid_t pid, int stream, const std::vector<ProcessRef>& holders);
void finished(const Span& span, const Completed& outcome);  // ends the span

// Groups and pipelines, each on a lane of its own.
Span group_begin(std::size_t limit, bool fail_fast);
void group_end(const Span& span, std::size_t succeeded, std::size_t failed, std::size_t never_started);
Span pipeline_begin(const std::vector<std::string>& programs);
void pipeline_end(const Span& span, const std::string& outcome);

// While alive, children spawned on this thread name `span` as their group.
class InScope {
 public:
  explicit InScope(const Span& span) noexcept;
  ~InScope();
  InScope(const InScope&) = delete;
  InScope& operator=(const InScope&) = delete;

 private:
  std::int64_t previous_ = 0;
  bool set_ = false;
};

}  // namespace procctx::detail::trace
