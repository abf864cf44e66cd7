// batch_inbox.hpp — what `procctx batch`'s runner waits for, in one place:
// jobs that ended (posted by procctx's on_exit callbacks on the library's
// loop thread), signals to procctx (posted by a procctx::on_signal watch,
// on the same thread), and anything else that needs the runner's attention
// (the run's deadline, a failed start). The runner's thread blocks in
// wait() and nowhere else.
#pragma once

#include <procctx/procctx.hpp>

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <optional>
#include <vector>

namespace procctx::cli::batch {

class Inbox {
 public:
  // Any thread.
  void post_exit(std::size_t token);
  void post_signal(int sig);
  void wake();

  struct Mail {
    std::vector<std::size_t> exited;  // tokens, in the order they ended
    std::vector<int> signals;         // in the order they arrived
  };
  // Blocks until something was posted or `until` passes (nullopt: no limit).
  // When only ends were posted, it lingers a few milliseconds for more (up
  // to a handful), so that at thousands of ends a second the runner wakes
  // for many at once instead of competing with procctx's loop thread for a
  // CPU at every one; a signal or wake() ends the wait at once.
  Mail wait(std::optional<TimePoint> until);

 private:
  void post_locked();

  std::mutex mu_;
  std::condition_variable cv_;
  Mail mail_;
  bool woken_ = false;
  bool urgent_ = false;  // a signal or wake(): no lingering
  bool waiting_ = false;  // a post must notify; otherwise the waiter looks before it sleeps
};

}  // namespace procctx::cli::batch
