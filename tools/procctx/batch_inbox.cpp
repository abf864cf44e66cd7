#include "batch_inbox.hpp"

#include <cerrno>
#include <ctime>

namespace procctx::cli::batch {
namespace {

constexpr int kCaught[] = {SIGINT, SIGTERM, SIGHUP};
std::atomic<Inbox*> g_inbox{nullptr};

void on_signal(int sig) {
  if (Inbox* inbox = g_inbox.load()) inbox->post_signal(sig);
}

timespec monotonic(TimePoint t) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  if (ns < 0) ns = 0;
  return timespec{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
}

}  // namespace

Inbox::Inbox() { ::sem_init(&sem_, 0, 0); }

Inbox::~Inbox() {
  if (catching_) {
    for (std::size_t i = 0; i < std::size(kCaught); ++i) ::sigaction(kCaught[i], &previous_[i], nullptr);
    g_inbox.store(nullptr);
  }
  ::sem_destroy(&sem_);
}

void Inbox::post_exit(std::size_t token) {
  {
    std::lock_guard lock{mu_};
    exited_.push_back(token);
  }
  if (sleeping_.exchange(false)) ::sem_post(&sem_);
}

void Inbox::wake() { ::sem_post(&sem_); }

void Inbox::post_signal(int sig) noexcept {
  int none = 0;
  first_signal_.compare_exchange_strong(none, sig);
  last_signal_.store(sig);
  signals_.fetch_add(1);
  ::sem_post(&sem_);
}

void Inbox::catch_signals() {
  g_inbox.store(this);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  for (std::size_t i = 0; i < std::size(kCaught); ++i) ::sigaction(kCaught[i], &sa, &previous_[i]);
  catching_ = true;
}

Inbox::Mail Inbox::wait(std::optional<TimePoint> until) {
  int rc = 0;
  sleeping_.store(true);
  bool queued = false;
  {
    std::lock_guard lock{mu_};
    queued = !exited_.empty();
  }
  if (queued) {
    sleeping_.store(false);
  } else if (until) {
    timespec ts = monotonic(*until);
    do {
      rc = ::sem_clockwait(&sem_, CLOCK_MONOTONIC, &ts);
    } while (rc != 0 && errno == EINTR && signals_.load() == signals_seen_);
  } else {
    do {
      rc = ::sem_wait(&sem_);
    } while (rc != 0 && errno == EINTR && signals_.load() == signals_seen_);
  }
  sleeping_.store(false);
  while (::sem_trywait(&sem_) == 0) {
  }  // one wake-up serves everything posted so far
  Mail m;
  {
    std::lock_guard lock{mu_};
    m.exited.swap(exited_);
  }
  int total = signals_.load();
  m.signals = total - signals_seen_;
  signals_seen_ = total;
  m.first_signal = first_signal_.load();
  m.last_signal = last_signal_.load();
  return m;
}

}  // namespace procctx::cli::batch
