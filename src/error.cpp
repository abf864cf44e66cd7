#include <procctx/result.hpp>

namespace procctx {
namespace {

class Category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "procctx"; }
  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::canceled:
        return "context canceled";
      case errc::deadline_exceeded:
        return "context deadline exceeded";
      case errc::invalid_argument:
        return "invalid argument";
      case errc::process_exited:
        return "process already exited";
      case errc::unsuccessful:
        return "process did not succeed";
      case errc::not_found:
        return "program not found";
      case errc::not_executable:
        return "program not executable";
    }
    return "unknown procctx error " + std::to_string(value);
  }
  // A program that is not found is the errno condition ENOENT too, so
  // `code() == std::errc::no_such_file_or_directory` keeps holding for it.
  // (errc::not_executable stands for several errnos: see Error::os_error().)
  bool equivalent(int value, const std::error_condition& condition) const noexcept override {
    if (static_cast<errc>(value) == errc::not_found) return condition == std::errc::no_such_file_or_directory;
    return std::error_category::equivalent(value, condition);
  }
};

}  // namespace

const std::error_category& category() noexcept {
  static const Category instance;
  return instance;
}

Error Error::wrap(std::string_view what) && {
  std::string message;
  message.reserve(what.size() + 2 + message_.size());
  message.append(what).append(": ").append(message_);
  return Error{code_, std::move(message), os_error_};
}

}  // namespace procctx
