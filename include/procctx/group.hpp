// procctx/group.hpp — many processes under one scope: Group and Pipeline.
//
// A Group runs commands under a context of its own, at most `limit` at a
// time, and reports every outcome in submission order. Each command gets
// its own child context, so one command's failure or cancellation never
// touches its siblings unless fail_fast says so. Nothing outlives the
// group: its destructor stops whatever still runs (with each command's
// stop sequence) and waits for the reaping, never longer than those
// sequences allow.
//
//   procctx::Group g{ctx, {.limit = 8, .fail_fast = true}};
//   for (auto& f : files) g.spawn(procctx::Command{"gzip", {"-k", f}});
//   for (const auto& o : g.wait()) if (!o.success()) ...
//
// A Pipeline connects stages stdout-to-stdin with pipes (the data never
// passes through this process): Command{"producer"} | Command{"filter"}.
//
// Threading: Group members may be called from any thread. Queued commands
// are started by procctx's loop thread as slots free up (no polling).
#pragma once

#include <procctx/command.hpp>
#include <procctx/context.hpp>
#include <procctx/export.hpp>
#include <procctx/process.hpp>
#include <procctx/result.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace procctx {

struct GroupOptions {
  std::size_t limit = 0;   // most commands running at once; 0: no limit
  bool fail_fast = false;  // the first failure cancels the rest (keep going otherwise)
};

// What became of one command of a Group.
struct Outcome {
  enum class State {
    completed,        // it ran: see `completed` (which may well be a failure)
    failed_to_start,  // spawn returned an error: see `error`
    never_started,    // the group ended first: `error` says why
  };
  State state = State::never_started;
  std::optional<Completed> completed;
  std::optional<Error> error;

  bool success() const noexcept { return state == State::completed && completed->status.success(); }
};

namespace detail {
struct GroupState;
}

class PROCCTX_EXPORT Group {
 public:
  explicit Group(const Context& parent, GroupOptions options = {});
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;
  // Cancels the group and waits until everything it started is reaped.
  ~Group();

  // Queues `cmd`; it starts now if a slot is free. Returns its index in
  // wait()'s list. Commands queued after the group ended never start.
  std::size_t spawn(Command cmd, SourceLocation where = SourceLocation::current());
  // Blocks until every command queued so far has an outcome; returns them
  // in submission order. The reference is valid until the next spawn().
  const std::vector<Outcome>& wait();
  // Stops everything: running commands get their stop sequences, queued
  // ones never start.
  void cancel(std::string cause = "group canceled");
  // The group's context: derive from it to nest groups.
  const Context& context() const noexcept;

 private:
  std::shared_ptr<detail::GroupState> state_;
};

// The outcome of a Pipeline: every stage's, and the one that decides.
struct PipelineOutcome {
  std::vector<Completed> stages;
  ExitStatus status;  // the last stage's, or with pipefail the first failing one's
  std::size_t deciding_stage = 0;
  bool success() const noexcept { return status.success(); }
};

class PROCCTX_EXPORT Pipeline {
 public:
  explicit Pipeline(std::vector<Command> stages) : stages_(std::move(stages)) {}
  // The status of the first stage that failed, rather than the last one's.
  Pipeline& pipefail(bool on = true) & {
    pipefail_ = on;
    return *this;
  }
  Pipeline&& pipefail(bool on = true) && { return std::move(pipefail(on)); }

  // Runs every stage under one context (derived from ctx); stopping, by
  // ctx or because a stage could not start, reaches every stage. The first
  // stage's stdin and the last stage's stdout/stderr are as their Commands
  // say; the connecting stdout/stdin settings are replaced by pipes.
  Result<PipelineOutcome> run(const Context& ctx = background()) const;
  const std::vector<Command>& stages() const noexcept { return stages_; }

 private:
  std::vector<Command> stages_;
  bool pipefail_ = false;
};

inline Pipeline operator|(Command a, Command b) { return Pipeline{{std::move(a), std::move(b)}}; }
inline Pipeline operator|(Pipeline p, Command c) {
  auto stages = p.stages();
  stages.push_back(std::move(c));
  return Pipeline{std::move(stages)};
}

}  // namespace procctx
