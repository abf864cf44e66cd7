// leak_check.cpp — LeakCheck: the children, fds and threads a scope left.
#include <procctx/diagnostics.hpp>

#include "child_linux.hpp"
#include "loop_linux.hpp"
#include "proc_linux.hpp"
#include "registry.hpp"

#include <algorithm>
#include <iterator>
#include <thread>

namespace procctx {
namespace {

constexpr const char* kLoopThread = "procctx-loop";

std::vector<int> other_threads() {
  std::vector<int> out;
  for (const auto& t : detail::proc::self_threads()) {
    if (t.name != kLoopThread) out.push_back(t.tid);
  }
  return out;
}

std::size_t library_threads() {
  auto all = detail::proc::self_threads();
  return static_cast<std::size_t>(
      std::count_if(all.begin(), all.end(), [](const auto& t) { return t.name == kLoopThread; }));
}

template <class T>
std::vector<T> added(std::vector<T> now, std::vector<T> before) {
  std::sort(now.begin(), now.end());
  std::sort(before.begin(), before.end());
  std::vector<T> out;
  std::set_difference(now.begin(), now.end(), before.begin(), before.end(), std::back_inserter(out));
  return out;
}

std::string state_name(ChildInfo::State s) {
  switch (s) {
    case ChildInfo::State::running:
      return "running";
    case ChildInfo::State::stopping:
      return "stopping";
    case ChildInfo::State::exited:
      return "exited, not released";
  }
  return "?";
}

// One readable line per leaked child: procctx's own when it spawned it.
std::string child_line(pid_t pid, const std::vector<ChildInfo>& infos) {
  for (const auto& i : infos) {
    if (i.pid != pid) continue;
    std::string argv;
    for (const auto& a : i.argv) argv += (argv.empty() ? "" : " ") + a;
    return "leaked child " + std::to_string(pid) + " (" + argv + ", " + state_name(i.state) + "); spawned at " +
           i.spawned_at.file_name() + ":" + std::to_string(i.spawned_at.line()) + " in " +
           i.spawned_at.function_name();
  }
  auto st = detail::proc::stat(pid);
  std::string what = st ? st->comm + ", state " + st->state : std::string{"gone"};
  return "leaked child " + std::to_string(pid) + " (" + what + "; not started by procctx)";
}

}  // namespace

LeakCheck::LeakCheck(Options options) : options_(std::move(options)) {
  (void)detail::Loop::get();  // its thread and fds are part of the baseline
  fds_ = detail::proc::self_fds();
  threads_ = other_threads();
  for (pid_t c : detail::proc::self_children()) children_.push_back(c);
}

LeakCheck::~LeakCheck() {
  if (!checked_) (void)check();
}

std::vector<std::string> LeakCheck::leaks_now() const {
  std::vector<std::string> leaks;
  auto infos = snapshot();
  // A child's own pidfd is part of that child, not a leak of its own.
  std::vector<int> child_fds;
  detail::registry::for_each([&](detail::ChildState& c) { child_fds.push_back(c.pidfd()); });
  for (int fd : added(detail::proc::self_fds(), fds_)) {
    if (std::find(child_fds.begin(), child_fds.end(), fd) != child_fds.end()) continue;
    std::string target = detail::sys::read_link("/proc/self/fd/" + std::to_string(fd));
    leaks.push_back("leaked fd " + std::to_string(fd) + " -> " + (target.empty() ? "?" : target));
  }
  for (int t : added(other_threads(), threads_)) {
    auto name = detail::sys::read_file("/proc/self/task/" + std::to_string(t) + "/comm");
    std::string n = name ? name->substr(0, name->find('\n')) : std::string{"?"};
    leaks.push_back("leaked thread " + std::to_string(t) + " (" + n + ")");
  }
  std::vector<int> children;
  for (pid_t c : detail::proc::self_children()) children.push_back(c);
  for (int c : added(children, children_)) leaks.push_back(child_line(c, infos));
  if (auto lib = library_threads(); lib != 1) {
    leaks.push_back("expected exactly one procctx-loop thread, found " + std::to_string(lib));
  }
  return leaks;
}

std::vector<std::string> LeakCheck::check() {
  checked_ = true;
  auto deadline = Clock::now() + options_.grace;
  std::vector<std::string> leaks = leaks_now();
  while (!leaks.empty() && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    leaks = leaks_now();
  }
  for (const auto& l : leaks) {
    if (options_.on_leak)
      options_.on_leak(l);
    else
      std::fprintf(stderr, "procctx: %s\n", l.c_str());
  }
  return leaks;
}

}  // namespace procctx
