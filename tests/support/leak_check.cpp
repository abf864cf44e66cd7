#include "support/leak_check.hpp"

#include "loop_linux.hpp"

#include <gtest/gtest.h>

#include <dirent.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
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
    // Each thread's own list of the children it made, beside the walk of
    // /proc below: that walk alone has been seen to miss one of 1,000 live
    // children while other tests' processes came and went.
    std::istringstream kids{read_first_line("/proc/self/task/" + std::to_string(tid) + "/children")};
    for (pid_t kid; kids >> kid;) r.children.insert(kid);
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

LeakCheck::LeakCheck()
    : check_(procctx::LeakCheck::Options{std::chrono::milliseconds(5000),
                                         [](const std::string& leak) { ADD_FAILURE() << leak; }}) {}

long rss_kib() {
  std::ifstream in{"/proc/self/status"};
  std::string key;
  while (in >> key) {
    if (key == "VmRSS:") {
      long kib = 0;
      in >> kib;
      return kib;
    }
    in.ignore(1 << 12, '\n');
  }
  return -1;
}

}  // namespace procctx::test
