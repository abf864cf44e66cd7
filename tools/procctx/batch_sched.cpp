#include "batch_sched.hpp"

#include "batch_text.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace procctx::cli::batch {

namespace {

std::optional<int> to_int(std::string_view s) {
  int v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

}  // namespace

std::optional<HaltPolicy> HaltPolicy::parse(std::string_view text, std::string& error) {
  HaltPolicy p;
  if (text == "never") return p;
  if (text == "0" || text == "1" || text == "2") {
    // GNU parallel's old numbers, refused rather than guessed at.
    error = std::string{"write it out: never"} + (text == "0" ? "" : text == "1" ? " or soon,fail=1" : " or now,fail=1") +
            " (GNU parallel's --halt " + std::string{text} + ")";
    return std::nullopt;
  }
  auto comma = text.find(',');
  std::string_view when = text.substr(0, comma);
  if (when == "soon") {
    p.when = When::soon;
  } else if (when == "now") {
    p.when = When::now;
  } else {
    error = "expected never, or soon or now followed by ,fail=N, ,success=N or ,done=N (N may be a percentage)";
    return std::nullopt;
  }
  std::string_view rest = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
  auto eq = rest.find('=');
  std::string_view what = rest.substr(0, eq);
  if (what == "fail") {
    p.count = Count::fail;
  } else if (what == "success") {
    p.count = Count::success;
  } else if (what == "done") {
    p.count = Count::done;
  } else {
    error = "expected fail=N, success=N or done=N after " + std::string{when} + ",";
    return std::nullopt;
  }
  std::string_view number = eq == std::string_view::npos ? std::string_view{} : rest.substr(eq + 1);
  if (!number.empty() && number.back() == '%') {
    p.percent = true;
    number.remove_suffix(1);
  }
  auto n = to_int(number);
  if (!n || *n <= 0 || (p.percent && *n > 100)) {
    error = "expected a positive number of jobs, or a percentage from 1% to 100%";
    return std::nullopt;
  }
  p.threshold = *n;
  return p;
}

std::optional<RetryPolicy> RetryPolicy::parse_on(std::string_view text, std::string& error) {
  RetryPolicy r;
  r.any = false;
  while (!text.empty()) {
    auto comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    if (item == "any") {
      r.any = true;
    } else if (item == "timeout") {
      r.timeout = true;
    } else if (auto dash = item.find('-'); dash != std::string_view::npos && dash > 0) {
      auto lo = to_int(item.substr(0, dash)), hi = to_int(item.substr(dash + 1));
      if (!lo || !hi || *lo > *hi || *lo < 1 || *hi > 255) {
        error = quote(item) + " is not a range of exit codes such as 1-5";
        return std::nullopt;
      }
      for (int c = *lo; c <= *hi; ++c) r.exit_codes.insert(c);
    } else if (auto code = to_int(item)) {
      if (*code < 1 || *code > 255) {
        error = quote(item) + " is not an exit code from 1 to 255";
        return std::nullopt;
      }
      r.exit_codes.insert(*code);
    } else if (int sig = signal_from_name(item); sig != 0) {
      r.signals.insert(sig);
    } else {
      error = quote(item) + " is none of: exit codes (3, 1-5), signal names (KILL), timeout, any";
      return std::nullopt;
    }
  }
  return r;
}

Scheduler::Scheduler(Options o)
    : opt_(o),
      attempts_(o.jobs, 0),
      slot_busy_(std::max<std::size_t>(o.parallel, 1), false),
      rng_(o.seed) {}

std::optional<std::size_t> Scheduler::next_job(TimePoint now) {
  // A start that had to wait first, then retries that are due (they have
  // waited too), then new jobs in order.
  if (!held_back_.empty()) {
    std::size_t job = held_back_.front();
    held_back_.pop_front();
    return job;
  }
  if (!retries_.empty() && retries_.begin()->first <= now) {
    std::size_t job = retries_.begin()->second;
    retries_.erase(retries_.begin());
    return job;
  }
  if (cursor_ < opt_.jobs) return cursor_++;
  return std::nullopt;
}

std::optional<Scheduler::Start> Scheduler::next(TimePoint now) {
  if (halted() || running_ >= slot_busy_.size()) return std::nullopt;
  auto job = next_job(now);
  if (!job) return std::nullopt;
  auto slot = static_cast<std::size_t>(std::find(slot_busy_.begin(), slot_busy_.end(), false) - slot_busy_.begin());
  slot_busy_[slot] = true;
  ++running_;
  return Start{*job, ++attempts_[*job], slot + 1};
}

void Scheduler::hold_back(const Start& s) {
  slot_busy_.at(s.slot - 1) = false;
  --running_;
  --attempts_.at(s.job);
  held_back_.push_front(s.job);
}

bool Scheduler::retryable(const AttemptEnd& e, int attempt) const {
  if (e.success() || e.interrupted || e.run_deadline || attempt > opt_.retry.retries) return false;
  if (e.start_failed || e.exit_code == 126 || e.exit_code == 127) return false;
  const RetryPolicy& r = opt_.retry;
  if (r.any) return true;
  if (e.timed_out) return r.timeout;
  if (e.signal != 0) return r.signals.count(e.signal) > 0;
  return r.exit_codes.count(e.exit_code) > 0;
}

std::optional<TimePoint> Scheduler::finished(std::size_t job, std::size_t slot, const AttemptEnd& end, TimePoint now) {
  slot_busy_.at(slot - 1) = false;
  --running_;
  int attempt = attempts_.at(job);
  if (!halted() && retryable(end, attempt)) {
    // Exponential backoff with jitter: delay · 2^(attempt-1) · [0.5, 1).
    double factor = std::ldexp(1.0, std::min(attempt - 1, 20)) *
                    (0.5 + 0.5 * std::uniform_real_distribution<double>(0, 1)(rng_));
    TimePoint at = now + std::chrono::duration_cast<Duration>(opt_.retry.delay * factor);
    retries_.emplace(at, job);
    return at;
  }
  (end.success() ? succeeded_ : failed_)++;
  check_halt();
  return std::nullopt;
}

void Scheduler::check_halt() {
  const HaltPolicy& h = opt_.halt;
  if (h.when == HaltPolicy::When::never || halted()) return;
  double count = h.count == HaltPolicy::Count::fail      ? static_cast<double>(failed_)
                 : h.count == HaltPolicy::Count::success ? static_cast<double>(succeeded_)
                                                         : static_cast<double>(completed());
  double limit = h.percent ? h.threshold / 100.0 * static_cast<double>(opt_.jobs) : h.threshold;
  if (count >= limit && count > 0) halt(h.when);
}

void Scheduler::halt(HaltPolicy::When how) {
  if (how == HaltPolicy::When::never) return;
  if (how == HaltPolicy::When::now) stop_running_ = true;
  if (halted_ != HaltPolicy::When::now) halted_ = how;
  // A job waiting for its next attempt will not get it: its last failure is final.
  failed_ += retries_.size();
  retries_.clear();
  for (std::size_t job : held_back_) failed_ += attempts_[job] > 0 ? 1u : 0u;  // a retry that had to wait
  held_back_.clear();
}

std::optional<TimePoint> Scheduler::next_wakeup() const {
  if (retries_.empty()) return std::nullopt;
  return retries_.begin()->first;
}

bool Scheduler::all_done() const {
  if (running_ > 0) return false;
  if (halted()) return true;
  return cursor_ >= opt_.jobs && retries_.empty() && held_back_.empty();
}

std::size_t Scheduler::not_started() const {
  return static_cast<std::size_t>(std::count(attempts_.begin(), attempts_.end(), 0));
}

int batch_exit_code(std::size_t failed) { return failed == 0 ? 0 : failed > 100 ? 101 : static_cast<int>(failed); }

}  // namespace procctx::cli::batch
