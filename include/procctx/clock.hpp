/// @file
/// @brief The clock of every deadline, wait and duration in procctx.
///
/// procctx measures time on std::chrono::steady_clock (monotonic: a changed
/// wall clock moves no deadline). This header only names the types.
#pragma once

#include <chrono>

namespace procctx {

using Clock = std::chrono::steady_clock;  ///< The clock of every deadline and duration in procctx (monotonic).
using Duration = Clock::duration;         ///< A length of time on Clock.
using TimePoint = Clock::time_point;      ///< A point in time on Clock.

}  // namespace procctx
