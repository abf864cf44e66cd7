/// @file
/// @brief Where a spawn was called from.
///
/// The same idea as procctx::SourceLocation, which clang 14 cannot provide on
/// top of libstdc++ 12; procctx uses this one on every compiler so that the
/// spawn site recorded for diagnostics means the same everywhere.
///
/// What it will not do: anything at run time. It holds three values the
/// compiler fills in; diagnostics.hpp is what reads them.
#pragma once

#include <cstdint>

namespace procctx {

/// A source file, function and line, captured where a function was called (as std::source_location).
class SourceLocation {
 public:
  /// As a default argument, captures the caller's file, line and function.
  static constexpr SourceLocation current(const char* file = __builtin_FILE(),
                                          const char* function = __builtin_FUNCTION(),
                                          std::uint_least32_t line = __builtin_LINE()) noexcept {
    SourceLocation loc;
    loc.file_ = file;
    loc.function_ = function;
    loc.line_ = line;
    return loc;
  }
  ///@{
  /// The file, the function and the line captured by current().
  constexpr const char* file_name() const noexcept { return file_; }
  constexpr const char* function_name() const noexcept { return function_; }
  constexpr std::uint_least32_t line() const noexcept { return line_; }
  ///@}

 private:
  const char* file_ = "";
  const char* function_ = "";
  std::uint_least32_t line_ = 0;
};

}  // namespace procctx
