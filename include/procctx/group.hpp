/// @file
/// @brief Many processes under one scope: Group and Pipeline.
///
/// A Group runs commands under a context of its own, at most `limit` at a
/// time, and reports every outcome in submission order. Each command gets
/// its own child context, so one command's failure or cancellation never
/// touches its siblings unless fail_fast says so. Nothing outlives the
/// group: its destructor stops whatever still runs (with each command's
/// stop sequence) and waits for the reaping, never longer than those
/// sequences allow.
///
/// @code
///   procctx::Group g{ctx, {.limit = 8, .fail_fast = true}};
///   for (auto& f : files) g.spawn(procctx::Command{"gzip", {"-k", f}});
///   for (const auto& o : g.wait()) if (!o.success()) ...
/// @endcode
///
/// A Pipeline connects stages stdout-to-stdin with pipes (the data never
/// passes through this process): Command{"producer"} | Command{"filter"}.
///
/// Threading: Group members may be called from any thread. Queued commands
/// are started by procctx's loop thread as slots free up (no polling).
///
/// What it will not do: retry, reorder or time out commands by itself (give
/// each Command its stop policy and the group a context with a deadline), or
/// let a command outlive the group.
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

/// How a Group runs its commands.
struct GroupOptions {
  std::size_t limit = 0;   ///< most commands running at once; 0: no limit
  bool fail_fast = false;  ///< the first failure cancels the rest (keep going otherwise)
};

/// What became of one command of a Group.
struct Outcome {
  /// How far the command got.
  enum class State {
    completed,        ///< it ran: see `completed` (which may well be a failure)
    failed_to_start,  ///< spawn returned an error: see `error`
    never_started,    ///< the group ended first: `error` says why
  };
  State state = State::never_started;  ///< How far it got: decides which of the two below is set.
  std::optional<Completed> completed;  ///< Set when state is State::completed.
  std::optional<Error> error;          ///< Set when it failed to start or never started: why.

  /// True when it ran and exited 0.
  bool success() const noexcept { return state == State::completed && completed->status.success(); }
};

namespace detail {
struct GroupState;
}

/// Bounded, structured concurrency over processes: see the top of this file.
/// Nothing a Group starts outlives it.
class PROCCTX_EXPORT Group {
 public:
  /// A group under `parent`: cancelling `parent` reaches every command in it.
  explicit Group(const Context& parent, GroupOptions options = {});
  Group(const Group&) = delete;
  Group& operator=(const Group&) = delete;
  /// Cancels the group and waits until everything it started is reaped.
  ~Group();

  /// Queues `cmd`; it starts now if a slot is free. Returns its index in
  /// wait()'s list. Commands queued after the group ended never start.
  /// Thread-safe. `where` records the caller for diagnostics.
  std::size_t spawn(Command cmd, SourceLocation where = SourceLocation::current());
  /// Blocks until every command queued so far has an outcome; returns them
  /// in submission order. The reference is valid until the next spawn().
  /// Thread-safe.
  const std::vector<Outcome>& wait();
  /// Stops everything: running commands get their stop sequences, queued
  /// ones never start.
  /// `cause` is recorded in each stopped command's Completed::cause.
  void cancel(std::string cause = "group canceled");
  /// The group's context: derive from it to nest groups.
  /// Ends when the group is cancelled, fails fast, is destroyed, or its parent ends.
  const Context& context() const noexcept;

 private:
  std::shared_ptr<detail::GroupState> state_;
};

/// The outcome of a Pipeline: every stage's, and the one that decides.
struct PipelineOutcome {
  std::vector<Completed> stages;   ///< Every stage's outcome, in pipeline order.
  ExitStatus status;               ///< the last stage's, or with pipefail the first failing one's
  std::size_t deciding_stage = 0;  ///< The index in `stages` whose status is `status`.
  /// True when `status` is exit 0.
  bool success() const noexcept { return status.success(); }
};

/// Commands joined stdout-to-stdin by pipes, run under one context. Build one with `a | b | c`.
class PROCCTX_EXPORT Pipeline {
 public:
  /// A pipeline of these stages, first to last.
  explicit Pipeline(std::vector<Command> stages) : stages_(std::move(stages)) {}
  /// The status of the first stage that failed, rather than the last one's.
  Pipeline& pipefail(bool on = true) & {
    pipefail_ = on;
    return *this;
  }
  /// The same as pipefail() on a temporary.
  Pipeline&& pipefail(bool on = true) && { return std::move(pipefail(on)); }

  /// Runs every stage under one context (derived from ctx); stopping, by
  /// ctx or because a stage could not start, reaches every stage. The first
  /// stage's stdin and the last stage's stdout/stderr are as their Commands
  /// say; the connecting stdout/stdin settings are replaced by pipes.
  Result<PipelineOutcome> run(const Context& ctx = background()) const;
  /// The stages, first to last.
  const std::vector<Command>& stages() const noexcept { return stages_; }

 private:
  std::vector<Command> stages_;
  bool pipefail_ = false;
};

/// A two-stage Pipeline: a's stdout feeds b's stdin.
inline Pipeline operator|(Command a, Command b) { return Pipeline{{std::move(a), std::move(b)}}; }
/// `p` with `c` appended as its last stage.
inline Pipeline operator|(Pipeline p, Command c) {
  auto stages = p.stages();
  stages.push_back(std::move(c));
  return Pipeline{std::move(stages)};
}

}  // namespace procctx
