// diagnostics.cpp — stats(), snapshot() and dump(): what procctx holds now.
#include <procctx/diagnostics.hpp>

#include "child_linux.hpp"
#include "context_internal.hpp"
#include "loop_linux.hpp"
#include "proc_linux.hpp"
#include "registry.hpp"

#include <iomanip>
#include <ostream>

namespace procctx {

Stats stats() {
  Stats s;
  detail::registry::for_each([&](detail::ChildState& c) { c.add_to(s); });
  s.registrations = detail::context_registrations();
  if (detail::Loop* loop = detail::Loop::running()) {
    s.pending_timers = loop->pending_timers();
    s.threads = 1;
  }
  return s;
}

std::vector<ChildInfo> snapshot() {
  std::vector<ChildInfo> out;
  auto now = Clock::now();
  detail::registry::for_each([&](detail::ChildState& c) { out.push_back(c.info(now)); });
  return out;
}

std::vector<ProcessRef> pipe_holders(int fd) { return detail::proc::pipe_holders(fd); }

void dump(std::ostream& out) {
  auto children = snapshot();
  // Leave the caller's stream as it was (format flags, precision).
  std::ios saved{nullptr};
  saved.copyfmt(out);
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
    if (!c.pipe_holders.empty()) {
      out << "    pipes held past wait_delay by";
      for (const auto& h : c.pipe_holders) out << " pid " << h.pid << " (" << h.name << ")";
      out << "\n";
    }
  }
  out.copyfmt(saved);
}

}  // namespace procctx
