#include <procctx/diagnostics.hpp>

#include "child_linux.hpp"
#include "loop_linux.hpp"

#include <atomic>
#include <iomanip>
#include <ostream>

namespace procctx {
Stats stats() {
  Stats s;
  detail::for_each_child([&](detail::ChildState& c) {
    std::lock_guard lock{c.mu};
    ++s.children;
    if (!c.reaped) ++s.running;
    if (c.finished && !c.collected && !c.dropped && !c.detached) ++s.uncollected;
    if (c.dropped) ++s.dropped;
    if (c.detached) ++s.detached;
    s.pipe_fds += (c.streams[0].fd ? 1u : 0u) + (c.streams[1].fd ? 1u : 0u) + (c.feed.fd ? 1u : 0u);
  });
  s.registrations = detail::live_registrations.load(std::memory_order_relaxed);
  if (detail::Loop* loop = detail::Loop::running()) {
    s.pending_timers = loop->pending_timers();
    s.threads = 1;
  }
  return s;
}

std::vector<ChildInfo> snapshot() {
  std::vector<ChildInfo> out;
  auto now = Clock::now();
  detail::for_each_child([&](detail::ChildState& c) {
    std::lock_guard lock{c.mu};
    ChildInfo info;
    info.pid = c.pid;
    info.argv = c.argv;
    info.state = c.reaped ? ChildInfo::State::exited
                          : (c.stopping ? ChildInfo::State::stopping : ChildInfo::State::running);
    info.age = now - c.started;
    info.tree = c.tree;
    info.dropped = c.dropped;
    info.detached = c.detached;
    info.collected = c.collected;
    info.spawned_at = c.where;
    out.push_back(std::move(info));
  });
  return out;
}

void dump(std::ostream& out) {
  auto children = snapshot();
  out << "procctx: " << children.size() << " child" << (children.size() == 1 ? "" : "ren") << "\n";
  for (const auto& c : children) {
    static const char* const states[] = {"running", "stopping", "exited"};
    out << "  pid " << c.pid << " [" << states[static_cast<int>(c.state)];
    if (c.dropped) out << ", dropped";
    if (c.detached) out << ", detached";
    if (c.state == ChildInfo::State::exited && !c.collected) out << ", not waited for";
    out << ", " << std::fixed << std::setprecision(1) << std::chrono::duration<double>(c.age).count() << "s]";
    for (const auto& a : c.argv) out << " " << a;
    out << "\n    spawned at " << c.spawned_at.file_name() << ":" << c.spawned_at.line() << " in "
        << c.spawned_at.function_name() << "\n";
  }
}

}  // namespace procctx
