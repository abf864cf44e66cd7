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

#include <atomic>
#include <cstdint>
#include <string>
#include <system_error>
#include <vector>

#include <sys/types.h>

namespace procctx {
struct GroupOptions;
struct Outcome;
}  // namespace procctx

namespace procctx::detail {
struct ChildState;
}

namespace procctx::detail::trace {

extern std::atomic<bool> active;
inline bool on() noexcept { return __builtin_expect(active.load(std::memory_order_relaxed), false); }

// Starts tracing to $PROCCTX_TRACE if it is set (once; the loop's start
// calls it). A file that cannot be opened is reported on stderr, once.
void from_env() noexcept;

// A span begun in one trace session, to be ended in the same one (a span
// begun before a stop() is not ended in the next trace).
struct Span {
  std::int64_t lane = 0;
  std::uint32_t session = 0;
  explicit operator bool() const noexcept { return session != 0; }
};

// Children, on their pid's lane. Called with the child's lock held, or
// before the child is published.
Span spawned(const ChildState& c);  // begins the span: argv, pid, spawn site
void stop_begun(const ChildState& c);
void signal_sent(const ChildState& c, int sig, int stage, const char* by);
void context_done(pid_t pid, std::error_code err, const std::string& cause);
void exited(const ChildState& c);
void pipe_eof(const ChildState& c, int stream);
void wait_delay_expired(const ChildState& c);
void pipe_held(const ChildState& c, int stream, const std::vector<ProcessRef>& holders);
void finished(const ChildState& c);  // ends the span: the outcome

// Groups and pipelines, each on a lane of its own.
Span group_begin(const GroupOptions& options);
void group_end(const Span& span, const std::vector<Outcome>& outcomes);
Span pipeline_begin(const std::vector<Command>& stages);
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
