#include "support/leak_check.hpp"

#include "loop_linux.hpp"

#include <gtest/gtest.h>

#include <dirent.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

namespace procctx::test {
namespace {

std::set<int> numbers_in(const char* dir) {
  std::set<int> out;
  if (DIR* d = ::opendir(dir)) {
    int self = ::dirfd(d);
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
      int n = std::stoi(e->d_name);
      if (n != self) out.insert(n);
    }
    ::closedir(d);
  }
  return out;
}

std::string read_first_line(const std::string& path) {
  std::ifstream in{path};
  std::string line;
  std::getline(in, line);
  return line;
}

std::string describe_fd(int fd) {
  std::error_code ec;
  auto target = std::filesystem::read_symlink("/proc/self/fd/" + std::to_string(fd), ec);
  return "fd " + std::to_string(fd) + " -> " + (ec ? std::string{"?"} : target.string());
}

}  // namespace

Resources Resources::now() {
  Resources r;
  r.fds = numbers_in("/proc/self/fd");
  for (int tid : numbers_in("/proc/self/task")) {
    if (read_first_line("/proc/self/task/" + std::to_string(tid) + "/comm") == "procctx-loop") {
      ++r.loop_threads;
    } else {
      r.threads.insert(tid);
    }
  }
  pid_t self = ::getpid();
  for (int pid : numbers_in("/proc")) {
    // /proc/PID/stat: "pid (comm) state ppid ..."; comm may hold spaces.
    std::string stat = read_first_line("/proc/" + std::to_string(pid) + "/stat");
    auto close = stat.rfind(')');
    if (close == std::string::npos || close + 4 >= stat.size()) continue;
    pid_t ppid = static_cast<pid_t>(std::atoi(stat.c_str() + close + 4));
    if (ppid == self) r.children.insert(pid);
  }
  return r;
}

std::vector<pid_t> live_group_members(pid_t pgid, std::chrono::milliseconds grace) {
  auto deadline = std::chrono::steady_clock::now() + grace;
  std::vector<pid_t> live;
  for (;;) {
    live.clear();
    for (int pid : numbers_in("/proc")) {
      // /proc/PID/stat: "pid (comm) state ppid pgrp ..."
      std::string stat = read_first_line("/proc/" + std::to_string(pid) + "/stat");
      auto close = stat.rfind(')');
      if (close == std::string::npos || close + 2 >= stat.size()) continue;
      char state = stat[close + 2];
      int ppid = 0, pgrp = 0;
      if (std::sscanf(stat.c_str() + close + 4, "%d %d", &ppid, &pgrp) != 2) continue;
      if (pgrp == pgid && state != 'Z' && state != 'X') live.push_back(pid);
    }
    if (live.empty() || std::chrono::steady_clock::now() >= deadline) return live;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

bool process_running(pid_t pid) {
  std::string stat = read_first_line("/proc/" + std::to_string(pid) + "/stat");
  auto close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] != 'Z' &&
         stat[close + 2] != 'X';
}

LeakCheck::LeakCheck() {
  // The loop's own thread and fds exist once per process; start it first so
  // that they belong to the baseline.
  (void)detail::Loop::get();
  before_ = Resources::now();
}

std::vector<std::string> LeakCheck::check(std::chrono::milliseconds grace) {
  auto deadline = std::chrono::steady_clock::now() + grace;
  std::vector<std::string> leaks;
  for (;;) {
    Resources after = Resources::now();
    leaks.clear();
    for (int fd : after.fds) {
      if (!before_.fds.count(fd)) leaks.push_back("leaked " + describe_fd(fd));
    }
    for (pid_t t : after.threads) {
      if (!before_.threads.count(t)) leaks.push_back("leaked thread " + std::to_string(t));
    }
    for (pid_t c : after.children) {
      if (!before_.children.count(c)) {
        leaks.push_back("leaked child " + std::to_string(c) + " " +
                        read_first_line("/proc/" + std::to_string(c) + "/stat"));
      }
    }
    if (after.loop_threads != 1) {
      leaks.push_back("expected exactly one procctx-loop thread, found " +
                      std::to_string(after.loop_threads));
    }
    if (leaks.empty() || std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (const auto& l : leaks) ADD_FAILURE() << l;
  return leaks;
}

}  // namespace procctx::test
