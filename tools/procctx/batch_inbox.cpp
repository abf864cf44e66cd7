#include "batch_inbox.hpp"

namespace procctx::cli::batch {
namespace {

constexpr auto kLinger = std::chrono::milliseconds(5);
constexpr std::size_t kEnough = 32;

}  // namespace

void Inbox::post_locked() {
  bool was = woken_;
  woken_ = true;
  // While lingering, only what ends the lingering is worth a wake-up.
  if (waiting_ && (!was || urgent_ || mail_.exited.size() >= kEnough)) cv_.notify_one();
}

void Inbox::post_exit(std::size_t token) {
  std::lock_guard lock{mu_};
  mail_.exited.push_back(token);
  post_locked();
}

void Inbox::post_signal(int sig) {
  std::lock_guard lock{mu_};
  mail_.signals.push_back(sig);
  urgent_ = true;
  post_locked();
}

void Inbox::wake() {
  std::lock_guard lock{mu_};
  urgent_ = true;
  post_locked();
}

Inbox::Mail Inbox::wait(std::optional<TimePoint> until) {
  std::unique_lock lock{mu_};
  waiting_ = true;
  if (until) {
    cv_.wait_until(lock, *until, [this] { return woken_; });
  } else {
    cv_.wait(lock, [this] { return woken_; });
  }
  if (woken_ && !urgent_ && mail_.exited.size() < kEnough) {
    auto linger = Clock::now() + kLinger;
    if (until && *until < linger) linger = *until;
    cv_.wait_until(lock, linger, [this] { return urgent_ || mail_.exited.size() >= kEnough; });
  }
  waiting_ = false;
  woken_ = false;
  urgent_ = false;
  Mail m;
  std::swap(m, mail_);
  return m;
}

}  // namespace procctx::cli::batch
