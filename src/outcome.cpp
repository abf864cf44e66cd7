// outcome.cpp — how an outcome reads: ExitStatus and StopReason as text,
// and Completed::check().
#include <procctx/process.hpp>

#include "shown.hpp"

namespace procctx {

std::string ExitStatus::to_string() const {
  switch (state_) {
    case State::unknown:
      return "unknown";
    case State::exited:
      return "exited " + std::to_string(value_);
    case State::killed:
      return "killed by " + signal_name(value_);
    case State::dumped:
      return "killed by " + signal_name(value_) + " (core dumped)";
  }
  return "unknown";
}

std::string_view to_string(StopReason r) noexcept {
  switch (r) {
    case StopReason::none:
      return "none";
    case StopReason::canceled:
      return "canceled";
    case StopReason::deadline:
      return "deadline";
    case StopReason::dropped:
      return "dropped";
    case StopReason::requested:
      return "requested";
    case StopReason::broken_pipe:
      return "broken_pipe";
  }
  return "?";
}

Result<void> Completed::check() const {
  if (status.success()) return {};
  std::string name = argv.empty() ? std::string{"process"} : detail::shown(argv[0]);
  std::string message = name + " " + status.to_string();
  if (stop_reason != StopReason::none) {
    message += " (stopped by procctx: " + std::string{to_string(stop_reason)};
    if (!cause.empty()) message += ": " + cause;
    message += ")";
  }
  errc code = stop_reason == StopReason::deadline   ? errc::deadline_exceeded
              : stop_reason == StopReason::canceled ? errc::canceled
                                                    : errc::unsuccessful;
  return Error{make_error_code(code), std::move(message)};
}

}  // namespace procctx
