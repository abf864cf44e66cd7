#include "supervise.hpp"

#include <cstdio>

#include <pthread.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

namespace procctx::cli {

bool ignored_at_start(int sig) {
  struct sigaction old {};
  return ::sigaction(sig, nullptr, &old) == 0 && old.sa_handler == SIG_IGN;
}

int block_into_signalfd(const sigset_t& signals) {
  ::pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return ::signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK);
}

Supervisor::Supervisor() {
  ::signal(SIGCHLD, SIG_DFL);  // an ignored SIGCHLD makes the kernel reap our children unseen
}

Result<void> Supervisor::take_over(const std::vector<int>& signals) {
  bool pipe_watched = false;
  std::shared_ptr<Queue> q = queue_;
  for (int sig : signals) {
    if (sig <= 0 || sig == SIGKILL || sig == SIGSTOP || sig == SIGCHLD) continue;
    // One watch per signal, so that each can be dropped (ignore()) alone.
    auto w = on_signal({sig}, [q](int s) {
      std::lock_guard lock{q->mu};
      q->signals.push_back(s);
      q->changed.notify_all();
    });
    if (!w) return std::move(w).error();
    watches_.push_back(std::move(*w));
    pipe_watched = pipe_watched || sig == SIGPIPE;
  }
  if (!pipe_watched) ::signal(SIGPIPE, SIG_IGN);
  return {};
}

void Supervisor::ignore(int sig) {
  std::lock_guard lock{queue_->mu};
  ignored_.insert(sig);
}

Result<void> Supervisor::watch(const Process& p, Terminal* terminal) {
  std::shared_ptr<Queue> q = queue_;
  // First, so that next() always learns the outcome, whatever fails below.
  p.on_exit([q](const Completed&) {
    std::lock_guard lock{q->mu};
    q->exited = true;
    q->changed.notify_all();
  });
  terminal_ = terminal;
  if (terminal_ != nullptr) {
    terminal_->follow(p);
    auto w = on_signal({SIGCHLD}, [q](int s) {
      std::lock_guard lock{q->mu};
      q->signals.push_back(s);
      q->changed.notify_all();
    });
    if (!w) return std::move(w).error();
    watches_.push_back(std::move(*w));
    // The command may have stopped before the watch began: look once.
    std::lock_guard lock{q->mu};
    q->signals.push_back(SIGCHLD);
  }
  return {};
}

Supervisor::Event Supervisor::next(std::optional<TimePoint> until) {
  std::unique_lock lock{queue_->mu};
  for (;;) {
    if (queue_->exited) return {Event::exited};
    if (!queue_->signals.empty()) {
      int sig = queue_->signals.front();
      queue_->signals.pop_front();
      if (ignored_.count(sig) != 0) continue;
      if (sig != SIGCHLD) return {Event::signal, sig};
      if (terminal_ != nullptr) {
        // Job control may stop procctx itself: not under our lock.
        lock.unlock();
        terminal_->on_child_signal();
        lock.lock();
      }
      continue;
    }
    if (!until) {
      queue_->changed.wait(lock);
    } else if (queue_->changed.wait_until(lock, *until) == std::cv_status::timeout &&
               queue_->signals.empty() && !queue_->exited) {
      return {Event::timeout};
    }
  }
}

void die_of(int sig) {
  std::fflush(nullptr);
  ::prctl(PR_SET_DUMPABLE, 0);  // as coreutils: no core of procctx's own
  rlimit no_core{0, 0};
  ::setrlimit(RLIMIT_CORE, &no_core);
  ::signal(sig, SIG_DFL);  // over the library's handler, if it watches sig
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, sig);
  ::pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
  ::raise(sig);
  ::_exit(kExitSignalBase + sig);
}

}  // namespace procctx::cli
