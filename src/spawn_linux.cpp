// spawn_linux.cpp — spawn as three steps: plan (everything prepared in the
// parent), launch (the clone), attach (the child's state, its pipes handed
// to the loop, its context watched).
#include <procctx/command.hpp>
#include <procctx/process.hpp>

#include "child_linux.hpp"
#include "registry.hpp"
#include "shown.hpp"
#include "spawn_launch_linux.hpp"
#include "spawn_plan_linux.hpp"
#include "trace.hpp"

namespace procctx::detail {
namespace {


// The child's state, from what the plan and the clone made.
std::shared_ptr<ChildState> make_state(const CommandOptions& o, SpawnPlan& plan, Launched launched,
                                       SourceLocation where, Loop& loop, Timers& timers) {
  ChildState::Identity id;
  id.pid = launched.pid;
  id.started = timers.now();
  id.argv = std::move(plan.argv);
  id.where = where;
  id.stop = o.stop;
  id.on_stop_signal = o.on_stop_signal;
  id.wait_delay = o.wait_delay;
  id.tree_note = std::move(plan.tree_note);
  int pidfd = launched.pidfd.get();
  id.pidfd = std::move(launched.pidfd);
  ProcessTree tree{plan.tree, launched.pid, pidfd, o.leftovers, std::move(plan.leaf), std::move(plan.ns_report)};
  plan.leaf.reset();
  return std::make_shared<ChildState>(std::move(id), std::move(tree), loop, timers);
}

// The pipes procctx reads and writes itself go to the loop; Stdio::pipe()
// ends go to the Process.
Result<void> attach_pipes(const CommandOptions& o, SpawnPlan& plan, ChildState& child, Process& process,
                          const Context& ctx) {
  for (int i = 1; i < 3; ++i) {
    const Stdio& s = o.stdio[static_cast<std::size_t>(i)];
    if (s.kind() == Stdio::Kind::capture) child.attach_capture(i - 1, std::move(plan.parent_end[i]), s.limit());
    if (s.kind() == Stdio::Kind::relay) {
      child.attach_relay(i - 1, std::move(plan.parent_end[i]), std::move(plan.sink[i]), s.relay_options());
    }
  }
  if (o.stdio[0].kind() == Stdio::Kind::data) {
    child.attach_feed(std::move(plan.parent_end[0]), std::make_shared<const std::string>(o.stdio[0].bytes()));
  }
  if (auto w = child.watch_pipes(); !w) return w;
  PipeEnd* ends[3] = {&process.in(), &process.out(), &process.err()};
  for (int i = 0; i < 3; ++i) {
    if (o.stdio[static_cast<std::size_t>(i)].kind() == Stdio::Kind::pipe) {
      SpawnAccess::set(*ends[i], plan.parent_end[i].release(), ctx);
    }
  }
  return {};
}

}  // namespace

Result<Process> spawn(const Command& cmd, const Context& ctx, SourceLocation where) {
  const CommandOptions& o = cmd.options();
  auto fail = [&](Error e) { return std::move(e).wrap(concat("spawn ", shown(o.program))); };
  if (ctx.done()) return fail(Error{ctx.err(), "context already done: " + ctx.cause()});
  trace::start_from_env_once();
  auto loop = Loop::get();
  if (!loop) return fail(std::move(loop).error());
  auto timers = detail::timers();
  if (!timers) return fail(std::move(timers).error());

  SpawnPlan plan;
  if (auto r = prepare(o, **loop, plan); !r) return fail(std::move(r).error());
  auto launched = launch(plan, **loop);
  if (!launched) return fail(std::move(launched).error());

  auto child = make_state(o, plan, std::move(*launched), where, **loop, **timers);
  registry::add(child);
  Process process = SpawnAccess::make(child);
  if (auto r = attach_pipes(o, plan, *child, process, ctx); !r) {
    // Could not hand the pipes to the loop: the child must not outlive this call.
    child->abandon();
    return fail(std::move(r).error().wrap("watch child"));
  }
  // Registered last: on a context that ended meanwhile the stop begins now.
  child->register_context(ctx);
  return process;
}

}  // namespace procctx::detail

namespace procctx {

Result<Process> Command::spawn(const Context& ctx, SourceLocation where) const {
  return detail::spawn(*this, ctx, where);
}

Result<Completed> Command::run(const Context& ctx, SourceLocation where) const {
  auto p = detail::spawn(*this, ctx, where);
  if (!p) return std::move(p).error();
  (void)p->wait();
  // Finished: nothing else touches the outcome now, so hand it over whole.
  return detail::SpawnAccess::state(*p)->take_outcome();
}

}  // namespace procctx
