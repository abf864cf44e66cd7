// batch_sched.hpp — what `procctx batch` decides, without running anything:
// which job starts next, what a finished attempt means (done, retried, or
// a halt), and when to wake up. The runner (batch.cpp) and the tests (with
// a fake runner) drive it the same way.
#pragma once

#include <procctx/procctx.hpp>

#include <cstdint>
#include <deque>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace procctx::cli::batch {

// --halt: never, or WHEN,fail=N|fail=P%|success=N|success=P%|done=N|done=P%.
struct HaltPolicy {
  enum class When { never, soon, now } when = When::never;
  enum class Count { fail, success, done } count = Count::fail;
  double threshold = 0;  // jobs, or a percentage of all jobs
  bool percent = false;
  static std::optional<HaltPolicy> parse(std::string_view text, std::string& error);
};

// --retry-on: which failures are retried (126 and 127 never are).
struct RetryPolicy {
  int retries = 0;                  // extra attempts
  bool any = true;                  // every failure (the default)
  std::set<int> exit_codes;
  std::set<int> signals;
  bool timeout = false;
  Duration delay = std::chrono::milliseconds(100);  // the first backoff; doubles each attempt
  static std::optional<RetryPolicy> parse_on(std::string_view text, std::string& error);
};

// How one attempt ended.
struct AttemptEnd {
  int exit_code = 0;          // when exited
  int signal = 0;             // when killed by a signal
  bool timed_out = false;     // its own --timeout / "timeout" fired
  bool run_deadline = false;  // the run's --deadline fired
  bool interrupted = false;   // procctx stopped it (halt now, a signal to procctx)
  bool start_failed = false;  // could not start (exit_code 126, 127 or 125)
  bool success() const { return !start_failed && !timed_out && !run_deadline && !interrupted && signal == 0 && exit_code == 0; }
};

class Scheduler {
 public:
  struct Options {
    std::size_t jobs = 0;
    std::size_t parallel = 1;
    HaltPolicy halt;
    RetryPolicy retry;
    std::uint64_t seed = 0;  // for the backoff jitter
  };
  explicit Scheduler(Options o);

  // The next job to start now (index into the job list) and the attempt
  // number (1-based), or nullopt: all slots busy, halted, or nothing ready.
  struct Start {
    std::size_t job;
    int attempt;
    std::size_t slot;  // 1-based, free now
  };
  std::optional<Start> next(TimePoint now);

  // An attempt ended. Returns when the job will be tried again, if it will.
  std::optional<TimePoint> finished(std::size_t job, std::size_t slot, const AttemptEnd& end, TimePoint now);

  // A start that could not happen for want of resources (file descriptors):
  // the slot is free again and the job is the next to start, with the same
  // attempt number. The runner tries again when a running job has ended.
  void hold_back(const Start& s);

  // Start no new job (SIGINT, --halt soon); `now` also asks running ones to stop.
  void halt(HaltPolicy::When how);
  bool halted() const { return halted_ != HaltPolicy::When::never; }
  // Halted with `now`: running jobs are to be stopped.
  bool stopping() const { return halted_ == HaltPolicy::When::now; }
  // True once, right after a policy asked for running jobs to be stopped.
  bool take_stop_request() { return std::exchange(stop_running_, false); }

  // The earliest retry waiting, if any.
  std::optional<TimePoint> next_wakeup() const;
  bool holding_back() const { return !held_back_.empty(); }
  bool all_done() const;  // nothing running, and nothing left that may start

  std::size_t running() const { return running_; }
  std::size_t succeeded() const { return succeeded_; }
  std::size_t failed() const { return failed_; }
  std::size_t completed() const { return succeeded_ + failed_; }
  std::size_t not_started() const;  // never started (halted or deadline)
  std::size_t total() const { return opt_.jobs; }
  int attempts(std::size_t job) const { return attempts_.at(job); }

 private:
  void check_halt();
  bool retryable(const AttemptEnd& e, int attempt) const;
  std::optional<std::size_t> next_job(TimePoint now);

  Options opt_;
  std::vector<int> attempts_;        // per job: attempts started
  std::set<std::pair<TimePoint, std::size_t>> retries_;  // (when, job), earliest first
  std::deque<std::size_t> held_back_;  // jobs whose start had to wait, in order
  std::vector<bool> slot_busy_;
  std::size_t cursor_ = 0;           // next never-started job
  std::size_t running_ = 0, succeeded_ = 0, failed_ = 0;
  HaltPolicy::When halted_ = HaltPolicy::When::never;
  bool stop_running_ = false;
  std::mt19937_64 rng_;
};

// GNU parallel's exit code: 0, the number of failed jobs up to 100, 101 above.
int batch_exit_code(std::size_t failed);

}  // namespace procctx::cli::batch
