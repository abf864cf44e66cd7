#include <procctx/diagnostics.hpp>

#include "child_linux.hpp"
#include "loop_linux.hpp"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include <dirent.h>
#include <unistd.h>
#include <iomanip>
#include <ostream>

namespace procctx {
Stats stats() {
  Stats s;
  detail::for_each_child([&](detail::ChildState& c) {
    std::lock_guard lock{c.mu};
    ++s.children;
    if (!c.reaped) ++s.running;
    if (c.finished && !c.collected && !c.dropped && !c.detached) ++s.uncollected;
    if (c.dropped) ++s.dropped;
    if (c.detached) ++s.detached;
    s.pipe_fds += (c.streams[0].fd ? 1u : 0u) + (c.streams[1].fd ? 1u : 0u) + (c.feed.fd ? 1u : 0u);
  });
  s.registrations = detail::live_registrations.load(std::memory_order_relaxed);
  if (detail::Loop* loop = detail::Loop::running()) {
    s.pending_timers = loop->pending_timers();
    s.threads = 1;
  }
  return s;
}

std::vector<ChildInfo> snapshot() {
  std::vector<ChildInfo> out;
  auto now = Clock::now();
  detail::for_each_child([&](detail::ChildState& c) {
    std::lock_guard lock{c.mu};
    ChildInfo info;
    info.pid = c.pid;
    info.argv = c.argv;
    info.state = c.reaped ? ChildInfo::State::exited
                          : (c.stopping ? ChildInfo::State::stopping : ChildInfo::State::running);
    info.age = now - c.started;
    info.tree = c.tree;
    info.dropped = c.dropped;
    info.detached = c.detached;
    info.collected = c.collected;
    info.spawned_at = c.where;
    info.pipe_holders = c.result.pipe_holders;
    out.push_back(std::move(info));
  });
  return out;
}

void dump(std::ostream& out) {
  auto children = snapshot();
  out << "procctx: " << children.size() << " child" << (children.size() == 1 ? "" : "ren") << "\n";
  for (const auto& c : children) {
    static const char* const states[] = {"running", "stopping", "exited"};
    out << "  pid " << c.pid << " [" << states[static_cast<int>(c.state)];
    if (c.dropped) out << ", dropped";
    if (c.detached) out << ", detached";
    if (c.state == ChildInfo::State::exited && !c.collected) out << ", not waited for";
    out << ", " << std::fixed << std::setprecision(1) << std::chrono::duration<double>(c.age).count() << "s]";
    for (const auto& a : c.argv) out << " " << a;
    out << "\n    spawned at " << c.spawned_at.file_name() << ":" << c.spawned_at.line() << " in "
        << c.spawned_at.function_name() << "\n";
    if (!c.pipe_holders.empty()) {
      out << "    pipes held past wait_delay by";
      for (const auto& h : c.pipe_holders) out << " pid " << h.pid << " (" << h.name << ")";
      out << "\n";
    }
  }
}

namespace {

std::vector<int> numbers_in(const char* dir) {
  std::vector<int> out;
  if (DIR* d = ::opendir(dir)) {
    int self = ::dirfd(d);
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
      int n = std::atoi(e->d_name);
      if (n != self) out.push_back(n);
    }
    ::closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string first_line(const std::string& path) {
  std::ifstream in{path};
  std::string line;
  std::getline(in, line);
  return line;
}

std::vector<int> library_threads() {
  std::vector<int> out;
  for (int tid : numbers_in("/proc/self/task")) {
    if (first_line("/proc/self/task/" + std::to_string(tid) + "/comm") == "procctx-loop") out.push_back(tid);
  }
  return out;
}

std::vector<int> other_threads() {
  auto all = numbers_in("/proc/self/task");
  auto lib = library_threads();
  std::vector<int> out;
  std::set_difference(all.begin(), all.end(), lib.begin(), lib.end(), std::back_inserter(out));
  return out;
}

std::vector<int> children_now() {
  std::vector<int> out;
  pid_t self = ::getpid();
  for (int pid : numbers_in("/proc")) {
    std::string stat = first_line("/proc/" + std::to_string(pid) + "/stat");
    auto close = stat.rfind(')');
    if (close == std::string::npos || close + 4 >= stat.size()) continue;
    if (std::atoi(stat.c_str() + close + 4) == self) out.push_back(pid);
  }
  return out;
}

std::vector<int> added(const std::vector<int>& now, const std::vector<int>& before) {
  std::vector<int> out;
  std::set_difference(now.begin(), now.end(), before.begin(), before.end(), std::back_inserter(out));
  return out;
}

}  // namespace

LeakCheck::LeakCheck(Options options) : options_(std::move(options)) {
  (void)detail::Loop::get();  // its thread and fds are part of the baseline
  fds_ = numbers_in("/proc/self/fd");
  threads_ = other_threads();
  children_ = children_now();
}

LeakCheck::~LeakCheck() {
  if (!checked_) (void)check();
}

std::vector<std::string> LeakCheck::check() {
  checked_ = true;
  auto deadline = Clock::now() + options_.grace;
  std::vector<std::string> leaks;
  for (;;) {
    leaks.clear();
    for (int fd : added(numbers_in("/proc/self/fd"), fds_)) {
      std::error_code ec;
      auto target = std::filesystem::read_symlink("/proc/self/fd/" + std::to_string(fd), ec);
      leaks.push_back("leaked fd " + std::to_string(fd) + " -> " + (ec ? std::string{"?"} : target.string()));
    }
    for (int t : added(other_threads(), threads_)) {
      leaks.push_back("leaked thread " + std::to_string(t) + " (" +
                      first_line("/proc/self/task/" + std::to_string(t) + "/comm") + ")");
    }
    auto infos = snapshot();
    for (int c : added(children_now(), children_)) {
      std::string line =
          "leaked child " + std::to_string(c) + " " + first_line("/proc/" + std::to_string(c) + "/stat");
      for (const auto& info : infos) {
        if (info.pid == c) {
          line += "; spawned at " + std::string{info.spawned_at.file_name()} + ":" +
                  std::to_string(info.spawned_at.line()) + " in " + info.spawned_at.function_name();
        }
      }
      leaks.push_back(std::move(line));
    }
    if (auto lib = library_threads(); lib.size() != 1) {
      leaks.push_back("expected exactly one procctx-loop thread, found " + std::to_string(lib.size()));
    }
    if (leaks.empty() || Clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
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
