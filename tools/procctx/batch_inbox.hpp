// batch_inbox.hpp — what `procctx batch`'s runner waits for, in one place:
// jobs that ended (posted by procctx's on_exit callbacks on the library's
// loop thread), signals to procctx (SIGINT, SIGTERM, SIGHUP), and anything
// else that needs the runner's attention (the run's deadline, a reader of
// stdout that went away). The runner's thread blocks in wait() and nowhere
// else.
//
// The wake-up is a POSIX semaphore rather than a condition variable
// because sem_post is async-signal-safe: the signal handler below can wake
// the runner as the loop thread does. When procctx::on_signal is in the
// library, its callback calls post_signal() instead of the handler.
#pragma once

#include <procctx/procctx.hpp>

#include <atomic>
#include <csignal>
#include <cstddef>
#include <mutex>
#include <optional>
#include <vector>

#include <semaphore.h>

namespace procctx::cli::batch {

class Inbox {
 public:
  Inbox();
  ~Inbox();
  Inbox(const Inbox&) = delete;
  Inbox& operator=(const Inbox&) = delete;

  // Any thread.
  void post_exit(std::size_t token);
  void wake();
  // Any thread, and signal handlers.
  void post_signal(int sig) noexcept;

  struct Mail {
    std::vector<std::size_t> exited;  // tokens, in the order they ended
    int signals = 0;                  // how many signals arrived since the last wait
    int first_signal = 0;             // the first signal of the whole run
    int last_signal = 0;
  };
  // Blocks until something was posted or `until` passes (nullopt: no limit).
  Mail wait(std::optional<TimePoint> until);

  // Delivers SIGINT, SIGTERM and SIGHUP to this inbox for as long as it lives.
  void catch_signals();

 private:
  sem_t sem_;
  std::mutex mu_;
  std::vector<std::size_t> exited_;
  std::atomic<int> signals_{0}, first_signal_{0}, last_signal_{0};
  // The waiter may be asleep: a post must wake it. While it is busy, posts
  // only queue (it looks at the queue before it sleeps again).
  std::atomic<bool> sleeping_{false};
  int signals_seen_ = 0;
  bool catching_ = false;
  struct sigaction previous_[3] = {};
};

}  // namespace procctx::cli::batch
