#include "proc_linux.hpp"

#include "sys_linux.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include <sys/stat.h>
#include <unistd.h>

namespace procctx::detail::proc {
namespace {

std::string dir_of(pid_t pid) { return "/proc/" + std::to_string(pid); }

bool is_number(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

std::vector<int> numbers_in(const std::string& dir) {
  std::vector<int> out;
  for (const auto& name : sys::list_dir(dir)) {
    if (is_number(name)) out.push_back(std::stoi(name));
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The threads of pid, by /proc/PID/task. That directory's link count is 2
// plus its threads, so a process with one thread (nearly every child) is
// answered by one stat rather than a listing, which also leaves the kernel
// fewer /proc entries to drop when the process is reaped.
std::vector<int> threads_of(pid_t pid, const std::string& tasks) {
  if (sys::link_count(tasks) == 3) return {pid};
  return numbers_in(tasks);
}

// The pids of a children file ("12 34 "), without a stream.
std::vector<pid_t> pids_in(const std::string& text) {
  std::vector<pid_t> out;
  const char* p = text.c_str();
  for (char* end = nullptr;; p = end) {
    long v = std::strtol(p, &end, 10);
    if (end == p) break;
    if (v > 0) out.push_back(static_cast<pid_t>(v));
  }
  return out;
}

std::string first_line(std::string text) {
  auto nl = text.find('\n');
  if (nl != std::string::npos) text.resize(nl);
  return text;
}

}  // namespace

std::optional<Stat> stat(pid_t pid) {
  auto text = sys::read_file(dir_of(pid) + "/stat");
  if (!text) return std::nullopt;
  const std::string& s = *text;
  // "pid (comm) state ppid pgrp ...": comm may hold anything but ')'.
  auto open = s.find('('), close = s.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close + 2 >= s.size()) return std::nullopt;
  int ppid = 0, pgrp = 0;
  if (std::sscanf(s.c_str() + close + 3, " %d %d", &ppid, &pgrp) != 2) return std::nullopt;
  return Stat{pid, ppid, pgrp, s[close + 2], s.substr(open + 1, close - open - 1)};
}

std::string comm(pid_t pid) {
  auto text = sys::read_file(dir_of(pid) + "/comm");
  return text ? first_line(std::move(*text)) : std::string{};
}

std::vector<std::string> cmdline(pid_t pid) {
  std::vector<std::string> out;
  auto text = sys::read_file(dir_of(pid) + "/cmdline");
  if (!text) return out;
  std::size_t start = 0;
  while (start < text->size()) {
    std::size_t end = text->find('\0', start);
    if (end == std::string::npos) end = text->size();
    out.push_back(text->substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::vector<Stat> descendants(pid_t root) {
  std::vector<Stat> out;
  std::vector<pid_t> frontier{root};
  while (!frontier.empty()) {
    pid_t parent = frontier.back();
    frontier.pop_back();
    std::string tasks = dir_of(parent) + "/task";
    for (int tid : threads_of(parent, tasks)) {
      auto children = sys::read_file(tasks + "/" + std::to_string(tid) + "/children");
      if (!children) continue;
      for (pid_t child : pids_in(*children)) {
        auto info = stat(child);
        if (!info || !info->live()) continue;
        out.push_back(std::move(*info));
        frontier.push_back(child);
      }
    }
  }
  return out;
}

std::vector<ProcessRef> group_members(pid_t pgid) {
  std::vector<ProcessRef> out;
  for (int pid : numbers_in("/proc")) {
    auto info = stat(pid);
    if (info && info->pgrp == pgid && info->live()) out.push_back({info->pid, info->comm});
  }
  return out;
}

std::vector<ProcessRef> pipe_holders(int fd) {
  std::vector<ProcessRef> holders;
  struct stat st {};
  if (!sys::call(sys::Call::fstat, [&] { return ::fstat(fd, &st); }).ok()) return holders;
  std::string want = "pipe:[" + std::to_string(st.st_ino) + "]";
  pid_t self = ::getpid();
  for (int pid : numbers_in("/proc")) {
    if (pid == self) continue;
    std::string fds = dir_of(pid) + "/fd";
    for (const auto& name : sys::list_dir(fds)) {
      if (sys::read_link(fds + "/" + name) == want) {
        holders.push_back({pid, comm(pid)});
        break;
      }
    }
  }
  return holders;
}

std::vector<int> self_fds() {
  // The listing's own fd is closed again by the time this returns.
  std::vector<int> fds = numbers_in("/proc/self/fd");
  std::erase_if(fds, [](int fd) { return sys::read_link("/proc/self/fd/" + std::to_string(fd)).empty(); });
  return fds;
}

std::vector<Thread> self_threads() {
  std::vector<Thread> out;
  for (int tid : numbers_in("/proc/self/task")) {
    auto name = sys::read_file("/proc/self/task/" + std::to_string(tid) + "/comm");
    out.push_back({tid, name ? first_line(std::move(*name)) : std::string{}});
  }
  return out;
}

std::vector<pid_t> self_children() {
  std::vector<pid_t> out;
  pid_t self = ::getpid();
  for (int pid : numbers_in("/proc")) {
    auto info = stat(pid);
    if (info && info->ppid == self) out.push_back(pid);
  }
  return out;
}

std::string self_comm() {
  auto text = sys::read_file("/proc/self/comm");
  return text ? first_line(std::move(*text)) : std::string{};
}

std::optional<std::string> self_cgroup() {
  auto text = sys::read_file("/proc/self/cgroup");
  if (!text) return std::nullopt;
  std::istringstream in{*text};
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("0::", 0) == 0) return line.substr(3);
  }
  return std::nullopt;
}

namespace {
// mountinfo escapes spaces and the like as \ooo.
std::string unescape(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      int v = (s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0');
      out.push_back(static_cast<char>(v));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}
}  // namespace

std::vector<Mount> cgroup2_mounts() {
  std::vector<Mount> out;
  auto text = sys::read_file("/proc/self/mountinfo");
  if (!text) return out;
  std::istringstream in{*text};
  for (std::string line; std::getline(in, line);) {
    auto dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream tail{line.substr(dash + 3)};
    std::string fstype;
    tail >> fstype;
    if (fstype != "cgroup2") continue;
    std::istringstream head{line.substr(0, dash)};
    std::string id, parent, devno, root, point;
    head >> id >> parent >> devno >> root >> point;
    out.push_back({unescape(root), unescape(point)});
  }
  return out;
}

}  // namespace procctx::detail::proc
