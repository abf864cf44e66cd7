// context_internal.hpp — what diagnostics may know of contexts.
#pragma once

#include <cstddef>

namespace procctx::detail {

// Context::on_done callbacks registered and not yet released.
std::size_t context_registrations() noexcept;

}  // namespace procctx::detail
