// group.cpp — Group: bounded, structured concurrency over processes.
#include <procctx/group.hpp>

#include "child_linux.hpp"
#include "shown.hpp"
#include "trace.hpp"

#include <thread>

#include <condition_variable>
#include <deque>
#include <mutex>

namespace procctx {
namespace detail {

struct GroupState : std::enable_shared_from_this<GroupState> {
  struct Job {
    Command cmd;
    SourceLocation where;
    std::optional<Process> process;
    Canceler cancel;                   // of the job's own context
    std::weak_ptr<ChildState> state;  // to see it released
  };

  GroupOptions options;
  Context ctx;
  Canceler cancel_group;
  trace::Span trace_span;  // the group's lane, when traced

  std::mutex mu;
  std::condition_variable cv;
  std::vector<Job> jobs;
  std::vector<Outcome> outcomes;
  std::deque<std::size_t> queue;
  std::size_t running = 0;
  std::size_t settled = 0;  // jobs with an outcome

  bool slot_free_locked() const { return options.limit == 0 || running < options.limit; }

  // "'gzip' exited 1 (command #3: gzip -9 a.log)": which of many similar ones it was.
  static std::string failure(std::size_t i, const Completed& c) {
    std::string argv;
    for (const auto& a : c.argv) {
      if (!argv.empty()) argv += ' ';
      argv += detail::printable(a);
    }
    std::string name = c.argv.empty() ? std::string{"command"} : detail::shown(c.argv[0]);
    return name + " " + c.status.to_string() + " (command #" + std::to_string(i + 1) + ": " + argv + ")";
  }

  // Starts queued jobs while slots are free; returns the cause to cancel
  // the group with (fail-fast on a spawn error), if any.
  std::optional<std::string> start_locked() {
    std::optional<std::string> fail;
    while (!queue.empty() && slot_free_locked()) {
      std::size_t i = queue.front();
      queue.pop_front();
      Job& job = jobs[i];
      Outcome& out = outcomes[i];
      if (ctx.done()) {
        out.state = Outcome::State::never_started;
        out.error = Error{ctx.err(), "never started: " + ctx.cause()};
        ++settled;
        continue;
      }
      auto [job_ctx, job_cancel] = with_cancel(ctx);
      trace::InScope in_group{trace_span};
      auto p = job.cmd.spawn(job_ctx, job.where);
      if (!p) {
        out.state = Outcome::State::failed_to_start;
        out.error = std::move(p).error();
        ++settled;
        if (options.fail_fast && !fail) fail = "command #" + std::to_string(i + 1) + ": " + out.error->message();
        continue;
      }
      job.cancel = std::move(job_cancel);
      job.state = SpawnAccess::state(*p);
      job.process.emplace(std::move(*p));
      ++running;
      std::weak_ptr<GroupState> weak = weak_from_this();
      job.process->on_exit([weak, i](const Completed& c) {
        if (auto s = weak.lock()) s->finished(i, c);
      });
    }
    cv.notify_all();
    return fail;
  }

  // On the loop thread: job i has its outcome.
  void finished(std::size_t i, const Completed& c) {
    std::optional<std::string> fail;
    Canceler done_cancel;
    std::optional<Process> done_process;
    {
      std::lock_guard lock{mu};
      Outcome& out = outcomes[i];
      out.state = Outcome::State::completed;
      out.completed = c;
      done_cancel = std::move(jobs[i].cancel);
      done_process = std::move(jobs[i].process);
      --running;
      ++settled;
      if (options.fail_fast && !c.status.success() && !ctx.done()) fail = failure(i, c);
      if (!fail) fail = start_locked();
    }
    // Outside the lock: cancelling runs context callbacks.
    if (fail) {
      cancel_group(*fail);
      std::lock_guard lock{mu};
      (void)start_locked();  // settles the queue as never started
    }
  }
};

}  // namespace detail

Group::Group(const Context& parent, GroupOptions options) : state_(std::make_shared<detail::GroupState>()) {
  auto [ctx, cancel] = with_cancel(parent);
  state_->options = options;
  state_->ctx = ctx;
  state_->cancel_group = std::move(cancel);
  if (detail::trace::on()) state_->trace_span = detail::trace::group_begin(options.limit, options.fail_fast);
}

Group::~Group() {
  cancel("group destroyed");
  const auto& outcomes = wait();
  if (state_->trace_span && detail::trace::on()) {
    std::size_t ok = 0, never = 0;
    for (const auto& o : outcomes) {
      if (o.success()) ++ok;
      if (o.state == Outcome::State::never_started) ++never;
    }
    detail::trace::group_end(state_->trace_span, ok, outcomes.size() - ok - never, never);
  }
  // Every outcome is in, but the loop may still be finishing with a child
  // it just reported: once this returns, nothing of the group is left.
  for (const auto& job : state_->jobs) {
    while (!job.state.expired()) std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
}

std::size_t Group::spawn(Command cmd, SourceLocation where) {
  std::optional<std::string> fail;
  std::size_t index;
  {
    std::lock_guard lock{state_->mu};
    index = state_->jobs.size();
    state_->jobs.push_back({std::move(cmd), where, std::nullopt, Canceler{}, {}});
    state_->outcomes.emplace_back();
    state_->queue.push_back(index);
    fail = state_->start_locked();
  }
  if (fail) {
    state_->cancel_group(*fail);
    std::lock_guard lock{state_->mu};
    (void)state_->start_locked();
  }
  return index;
}

const std::vector<Outcome>& Group::wait() {
  std::unique_lock lock{state_->mu};
  state_->cv.wait(lock, [&] { return state_->settled == state_->jobs.size(); });
  return state_->outcomes;
}

void Group::cancel(std::string cause) {
  state_->cancel_group(std::move(cause));
  std::lock_guard lock{state_->mu};
  (void)state_->start_locked();
}

const Context& Group::context() const noexcept { return state_->ctx; }

}  // namespace procctx
