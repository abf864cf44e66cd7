// procctx/result.hpp — errors as values.
//
// Every procctx function that can fail returns Result<T>: either a T or an
// Error, which is a std::error_code plus one sentence that names what failed
// ("spawn 'make': chdir /src: No such file or directory"). Callers who prefer
// exceptions call value(), which throws procctx::Exception.
//
// procctx never prints and never exits on its own: what went wrong always
// comes back to the caller through one of these.
#pragma once

#include <procctx/export.hpp>

#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

namespace procctx {

// The conditions procctx reports besides errno values.
enum class errc {
  canceled = 1,       // the context was cancelled
  deadline_exceeded,  // the context's deadline passed
  invalid_argument,   // bad input to a procctx call (the message names it)
  process_exited,     // the process was already reaped (signal, write)
  unsuccessful,       // Completed::check(): the process did not exit 0
};

PROCCTX_EXPORT const std::error_category& category() noexcept;

inline std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), category()}; }

// A failure: what went wrong (code) and where (message, one sentence).
class PROCCTX_EXPORT Error {
 public:
  Error() = default;
  Error(std::error_code code, std::string message) : code_(code), message_(std::move(message)) {}

  const std::error_code& code() const noexcept { return code_; }
  // The whole sentence, e.g. "spawn 'ls': chdir /nope: No such file or directory".
  const std::string& message() const noexcept { return message_; }

  // Prefixes the message with context: Error{..., "chdir /x: ..."}.wrap("spawn 'ls'").
  Error wrap(std::string_view what) &&;

 private:
  std::error_code code_;
  std::string message_;
};

// Thrown by Result<T>::value() on an error; what() is Error::message().
class PROCCTX_EXPORT Exception : public std::system_error {
 public:
  explicit Exception(const Error& e) : std::system_error(e.code(), e.message()), error_(e) {}
  const Error& error() const noexcept { return error_; }

 private:
  Error error_;
};

// A value or an Error. [[nodiscard]]: ignoring a failure is a compile warning.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  // The value; throws Exception when this holds an error.
  T& value() & {
    check();
    return std::get<0>(v_);
  }
  const T& value() const& {
    check();
    return std::get<0>(v_);
  }
  T&& value() && {
    check();
    return std::get<0>(std::move(v_));
  }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // The error; only meaningful when !ok() (an empty Error otherwise).
  const Error& error() const& noexcept {
    static const Error none;
    return ok() ? none : std::get<1>(v_);
  }
  Error&& error() && { return std::get<1>(std::move(v_)); }

 private:
  void check() const {
    if (!ok()) throw Exception(std::get<1>(v_));
  }
  std::variant<T, Error> v_;
};

// Result of an operation that returns nothing but can fail.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), failed_(true) {}  // NOLINT

  bool ok() const noexcept { return !failed_; }
  explicit operator bool() const noexcept { return ok(); }
  void value() const {
    if (failed_) throw Exception(error_);
  }
  const Error& error() const& noexcept { return error_; }
  Error&& error() && { return std::move(error_); }

 private:
  Error error_;
  bool failed_ = false;
};

}  // namespace procctx

template <>
struct std::is_error_code_enum<procctx::errc> : std::true_type {};
