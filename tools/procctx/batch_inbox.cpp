#include "batch_inbox.hpp"

namespace procctx::cli::batch {

void Inbox::post_locked() {
  woken_ = true;
  if (waiting_) cv_.notify_one();
}

void Inbox::post_exit(std::size_t token) {
  std::lock_guard lock{mu_};
  mail_.exited.push_back(token);
  post_locked();
}

void Inbox::post_signal(int sig) {
  std::lock_guard lock{mu_};
  mail_.signals.push_back(sig);
  post_locked();
}

void Inbox::wake() {
  std::lock_guard lock{mu_};
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
  waiting_ = false;
  woken_ = false;
  Mail m;
  std::swap(m, mail_);
  return m;
}

}  // namespace procctx::cli::batch
