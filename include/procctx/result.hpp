/// @file
/// @brief Errors as values.
///
/// Every procctx function that can fail returns Result<T>: either a T or an
/// Error, which is a std::error_code plus one sentence that names what failed
/// ("spawn 'make': chdir /src: No such file or directory"). Callers who prefer
/// exceptions call value(), which throws procctx::Exception.
///
/// procctx never prints and never exits on its own: what went wrong always
/// comes back to the caller through one of these.
///
/// What it will not do: throw, unless you call value() (or * and ->) on an
/// error; or turn a non-zero exit into an Error (Completed::check() does that
/// when asked).
#pragma once

#include <procctx/export.hpp>

#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

namespace procctx {

/// The conditions procctx reports besides errno values.
enum class errc {
  canceled = 1,       ///< the context was cancelled
  deadline_exceeded,  ///< the context's deadline passed
  invalid_argument,   ///< bad input to a procctx call (the message names it)
  process_exited,     ///< the process was already reaped (signal, write)
  unsuccessful,       ///< Completed::check(): the process did not exit 0
  not_found,          ///< spawn: the program is not on PATH, or the file (or its #! interpreter) does not exist
  not_executable,     ///< spawn: the program was found but cannot be executed (Error::os_error() says why)
};

/// The std::error_category of procctx::errc ("procctx"); its messages name the condition.
PROCCTX_EXPORT const std::error_category& category() noexcept;

/// An error_code for `e`, so that `code == procctx::errc::canceled` works.
inline std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), category()}; }

/// A failure: what went wrong (code) and where (message, one sentence).
class PROCCTX_EXPORT Error {
 public:
  Error() = default;
  /// An error with its code and its sentence.
  Error(std::error_code code, std::string message) : code_(code), message_(std::move(message)) {}
  /// An error with its code, its sentence and the errno behind it (see os_error()).
  Error(std::error_code code, std::string message, std::error_code os_error)
      : code_(code), message_(std::move(message)), os_error_(os_error) {}

  /// What went wrong, to switch on: an errno value (std::generic_category) or a procctx::errc.
  const std::error_code& code() const noexcept { return code_; }
  /// The whole sentence, e.g. "spawn 'ls': chdir /nope: No such file or directory".
  const std::string& message() const noexcept { return message_; }
  /// The errno the kernel gave, when code() is a procctx::errc that stands for one
  /// (errc::not_found: ENOENT; errc::not_executable: EACCES, ENOEXEC, ...); else code() itself.
  std::error_code os_error() const noexcept { return os_error_ ? os_error_ : code_; }

  /// Prefixes the message with context: Error{..., "chdir /x: ..."}.wrap("spawn 'ls'").
  Error wrap(std::string_view what) &&;

 private:
  std::error_code code_;
  std::string message_;
  std::error_code os_error_;
};

/// Thrown by Result<T>::value() on an error; what() is Error::message().
class PROCCTX_EXPORT Exception : public std::system_error {
 public:
  /// Wraps `e`: code() is e.code(), what() is e.message().
  explicit Exception(const Error& e) : std::system_error(e.code()), error_(e) {}
  /// The Error's sentence (std::system_error would append the code's message a second time).
  const char* what() const noexcept override { return error_.message().c_str(); }
  /// The Error that was thrown.
  const Error& error() const noexcept { return error_; }

 private:
  Error error_;
};

/// A value or an Error. [[nodiscard]]: ignoring a failure is a compile warning.
template <class T>
class [[nodiscard]] Result {
 public:
  ///@{
  /// A Result holding a value, or one holding an Error (both implicit, so a function can `return value;` or
  /// `return Error{...};`).
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT
  ///@}

  ///@{
  /// True when this holds a value.
  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }
  ///@}

  ///@{
  /// The value; throws Exception when this holds an error.
  T& value() & {
    check();
    return std::get<0>(v_);
  }
  const T& value() const& {
    check();
    return std::get<0>(v_);
  }
  T&& value() && {
    ///@}
    check();
    return std::get<0>(std::move(v_));
  }

  ///@{
  /// The same as value(): the value, or Exception.
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  ///@}

  /// The error; only meaningful when !ok() (an empty Error otherwise).
  const Error& error() const& noexcept {
    static const Error none;
    return ok() ? none : std::get<1>(v_);
  }
  /// The error, moved out; only valid when !ok().
  Error&& error() && { return std::get<1>(std::move(v_)); }

 private:
  void check() const {
    if (!ok()) throw Exception(std::get<1>(v_));
  }
  std::variant<T, Error> v_;
};

/// Result of an operation that returns nothing but can fail.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  /// A failure; a default-constructed Result<void> is a success.
  Result(Error error) : error_(std::move(error)), failed_(true) {}  // NOLINT

  ///@{
  /// True on success.
  bool ok() const noexcept { return !failed_; }
  explicit operator bool() const noexcept { return ok(); }
  ///@}
  /// Throws Exception on failure; returns on success.
  void value() const {
    if (failed_) throw Exception(error_);
  }
  ///@{
  /// The error (empty on success); the && form moves it out.
  const Error& error() const& noexcept { return error_; }
  Error&& error() && { return std::move(error_); }
  ///@}

 private:
  Error error_;
  bool failed_ = false;
};

}  // namespace procctx

template <>
struct std::is_error_code_enum<procctx::errc> : std::true_type {};
