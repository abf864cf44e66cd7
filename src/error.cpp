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
    }
    return "unknown procctx error " + std::to_string(value);
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
  return Error{code_, std::move(message)};
}

}  // namespace procctx
