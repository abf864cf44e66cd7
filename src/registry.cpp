#include "registry.hpp"

#include "child_linux.hpp"
#include "leak_debug.hpp"

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <vector>

namespace procctx::detail::registry {
namespace {

// Never destroyed: the loop thread may still release children while static
// destructors run.
struct Registry {
  std::mutex mu;
  std::vector<std::weak_ptr<ChildState>> children;
  std::size_t pruned_at = 64;  // prune when the list has grown past this
};

// PROCCTX_DEBUG=leaks: the children still alive and never looked at are
// leaks too; then everything recorded is printed.
void report_leaks_at_exit() {
  for_each([](ChildState& c) {
    c.note_leak_once();
  });
  leak_debug::print();
}

Registry& registry() {
  static Registry* r = [] {
    if (leak_debug::enabled()) std::atexit(report_leaks_at_exit);
    return new Registry;
  }();
  return *r;
}

void prune_locked(Registry& r) {
  std::erase_if(r.children, [](const std::weak_ptr<ChildState>& w) { return w.expired(); });
  r.pruned_at = std::max<std::size_t>(64, r.children.size() * 2);
}

}  // namespace

void add(const std::shared_ptr<ChildState>& c) {
  Registry& r = registry();
  std::lock_guard lock{r.mu};
  if (r.children.size() >= r.pruned_at) prune_locked(r);
  r.children.push_back(c);
}

void for_each(const std::function<void(ChildState&)>& fn) {
  std::vector<std::shared_ptr<ChildState>> live;
  {
    Registry& r = registry();
    std::lock_guard lock{r.mu};
    prune_locked(r);
    live.reserve(r.children.size());
    for (const auto& w : r.children) {
      if (auto strong = w.lock()) live.push_back(std::move(strong));
    }
  }
  for (const auto& c : live) fn(*c);
}

}  // namespace procctx::detail::registry
