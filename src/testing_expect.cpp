// testing_expect.cpp — the kit's expectations about an outcome
// (procctx/testing/expect.hpp), and the hook their failures go to.
#include <procctx/parse.hpp>
#include <procctx/testing/expect.hpp>

#include "proc_linux.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <mutex>
#include <thread>

namespace procctx::testing {
namespace {

std::mutex hook_mu;
FailureHook hook;  // guarded by hook_mu; empty: print to stderr
std::atomic<std::size_t> failed{0};

// A failure goes to the hook outside the lock: the hook may expect again.
Check report(Check c) {
  if (c.ok()) return c;
  failed.fetch_add(1, std::memory_order_relaxed);
  FailureHook h;
  {
    std::lock_guard lock{hook_mu};
    h = hook;
  }
  if (h) {
    h(c);
  } else {
    std::fprintf(stderr, "%s:%u: %s\n", c.where().file_name(), static_cast<unsigned>(c.where().line()),
                 c.message().c_str());
  }
  return c;
}

// 'procctx-testchild ignore=TERM sleep=60': the program's own name, then its arguments.
std::string command_of(const Completed& c) {
  std::string out;
  for (std::size_t i = 0; i < c.argv.size(); ++i) {
    std::string_view a = c.argv[i];
    if (i == 0 && a.rfind('/') != std::string_view::npos) a.remove_prefix(a.rfind('/') + 1);
    if (i > 0) out += ' ';
    out.append(a);
  }
  return "'" + out + "'";
}

// "exited 0", "killed by SIGKILL (stopped by procctx: deadline)".
std::string how_it_ended(const Completed& c) {
  std::string out = c.status.to_string();
  if (c.stop_reason != StopReason::none)
    out += " (stopped by procctx: " + std::string{to_string(c.stop_reason)} + ")";
  return out;
}

std::string seconds(Duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3fs", std::chrono::duration<double>(d).count());
  return buf;
}

std::string signals_sent(const Completed& c) {
  if (c.signals.empty()) return "nothing";
  std::string out;
  for (const auto& s : c.signals)
    out += (out.empty() ? "" : ", ") + signal_name(s.signal) + " at " + seconds(s.at);
  return out;
}

std::string signal_list(const std::vector<int>& signals) {
  if (signals.empty()) return "nothing";
  std::string out;
  for (int s : signals) out += (out.empty() ? "" : ", ") + signal_name(s);
  return out;
}

// Alive now and, when a name was recorded, still that program (not a recycled pid).
bool still_running(const ProcessRef& p) {
  auto st = detail::proc::stat(p.pid);
  return st && st->live() && (p.name.empty() || st->comm == p.name);
}

// What of c's tree still runs now, one "PID (NAME, WHY)" each.
std::vector<std::string> survivors(const Completed& c) {
  std::vector<std::string> out;
  std::vector<pid_t> seen;
  auto add = [&](const ProcessRef& p, const char* why) {
    if (std::find(seen.begin(), seen.end(), p.pid) != seen.end() || !still_running(p)) return;
    seen.push_back(p.pid);
    out.push_back(std::to_string(p.pid) + " (" + p.name + ", " + why + ")");
  };
  if (c.tree == Tree::process_group && c.pid > 0) {
    for (const auto& m : detail::proc::group_members(c.pid)) add(m, "in its process group");
  }
  for (const auto& p : c.leftovers) add(p, "left in its tree");
  for (const auto& p : c.pipe_holders) add(p, "held its output pipe");
  return out;
}

}  // namespace

FailureHook set_failure_hook(FailureHook h) {
  std::lock_guard lock{hook_mu};
  return std::exchange(hook, std::move(h));
}

std::size_t failures() noexcept { return failed.load(std::memory_order_relaxed); }
void reset_failures() noexcept { failed.store(0, std::memory_order_relaxed); }

Check expect(bool condition, std::string_view what, SourceLocation where) {
  if (condition) return {};
  return report(Check{"expected " + std::string{what}, where});
}

Check expect_exited(const Completed& c, int code, SourceLocation where) {
  if (c.status.exited() && c.status.code() == code) return {};
  return report(
      Check{"expected " + command_of(c) + " to exit " + std::to_string(code) + ", but it " + how_it_ended(c),
            where});
}

Check expect_killed_by(const Completed& c, int sig, SourceLocation where) {
  if (c.status.signaled() && c.status.signal() == sig) return {};
  return report(Check{
      "expected " + command_of(c) + " to be killed by " + signal_name(sig) + ", but it " + how_it_ended(c),
      where});
}

Check expect_signals(const Completed& c, const std::vector<int>& signals, SourceLocation where) {
  bool same = c.signals.size() == signals.size() &&
              std::equal(signals.begin(), signals.end(), c.signals.begin(),
                         [](int want, const SignalSent& sent) { return want == sent.signal; });
  if (same) return {};
  return report(Check{"expected procctx to send " + command_of(c) + " " + signal_list(signals) +
                          " in that order, but it sent " + signals_sent(c),
                      where});
}

Check expect_stopped_by(const Completed& c, StopReason reason, SourceLocation where) {
  if (c.stop_reason == reason) return {};
  std::string want = reason == StopReason::none
                         ? std::string{"to end by itself"}
                         : "to be stopped by procctx (" + std::string{to_string(reason)} + ")";
  std::string got =
      c.stop_reason == StopReason::none
          ? "it ended by itself: " + c.status.to_string()
          : "procctx stopped it (" + std::string{to_string(c.stop_reason)} + ": " + c.cause + ")";
  return report(Check{"expected " + command_of(c) + " " + want + ", but " + got, where});
}

Check expect_no_leftovers(const Completed& c, Duration grace, SourceLocation where) {
  auto until = procctx::Clock::now() + grace;
  std::vector<std::string> left = survivors(c);
  while (!left.empty() && procctx::Clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    left = survivors(c);
  }
  if (left.empty()) return {};
  std::string list;
  for (const auto& l : left) list += (list.empty() ? "" : ", ") + l;
  return report(
      Check{"expected nothing of " + command_of(c) + " to outlive it, but these still run: " + list, where});
}

namespace internal {

Check check_error(const Error* error, std::error_code want, SourceLocation where) {
  std::string wanted =
      want.message() + " (" + std::string{want.category().name()} + " " + std::to_string(want.value()) + ")";
  if (!error) return report(Check{"expected an error: " + wanted + ", but it succeeded", where});
  if (error->code() == want || error->os_error() == want) return {};
  return report(Check{"expected an error: " + wanted + ", but got: " + error->message(), where});
}

}  // namespace internal
}  // namespace procctx::testing
