// registry.hpp — every live child's state, for diagnostics (and, with
// PROCCTX_DEBUG=leaks, the ones still never looked at when the process exits).
#pragma once

#include <functional>
#include <memory>
#include <string>

namespace procctx::detail {
class ChildState;
}

namespace procctx::detail::registry {

// spawn adds each child as it is made; a child leaves when its last
// reference goes (expired entries are dropped as the registry is walked).
void add(const std::shared_ptr<ChildState>& c);
// Calls fn for every live child, oldest first, outside the registry's lock
// (fn may take the child's lock, and finish it).
void for_each(const std::function<void(ChildState&)>& fn);

}  // namespace procctx::detail::registry
