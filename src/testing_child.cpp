// testing_child.cpp — finding procctx-testchild, and knowing when one is
// ready (procctx/testing/child.hpp).
//
// The kit's own system calls (the latch's pipe, its reads) are not the
// library's: they go around the syscall seam on purpose, so that a test's
// fail_next(Call::pipe) reaches the spawn it is meant for, not the latch.
// (close_fd is not counted by the seam either.)
#include <procctx/testing/child.hpp>

#include "sys_linux.hpp"  // close_fd: not one of the calls a test can make fail

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <string_view>
#include <system_error>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#ifndef PROCCTX_TESTCHILD_INSTALLED
#error "PROCCTX_TESTCHILD_INSTALLED: where procctx's build installs procctx-testchild"
#endif

namespace procctx::testing {
namespace {

constexpr const char* kOverride = "PROCCTX_TESTCHILD";
constexpr const char* kReadyFdVariable = "PROCCTX_TESTCHILD_READY_FD";

bool executable(const std::string& path) { return ::access(path.c_str(), X_OK) == 0; }

// The places to look, in order (the override is handled before).
std::vector<std::string> candidates(const char* hint) {
  std::vector<std::string> out;
  if (hint && *hint) out.emplace_back(hint);
  if (std::find(out.begin(), out.end(), PROCCTX_TESTCHILD_INSTALLED) == out.end()) {
    out.emplace_back(PROCCTX_TESTCHILD_INSTALLED);
  }
  return out;
}

// The child fd for the latch: above every fd the command passes already.
int free_child_fd(const Command& cmd) {
  int highest = 2;
  for (const auto& [parent, child] : cmd.options().passed_fds) highest = std::max(highest, child);
  return highest + 1;
}

Duration since(TimePoint start) { return procctx::Clock::now() - start; }

}  // namespace

namespace internal {

Result<std::string> find_testchild(const char* hint) {
  if (const char* forced = std::getenv(kOverride); forced && *forced) return std::string{forced};
  std::string looked;
  for (const auto& path : candidates(hint)) {
    if (executable(path)) return path;
    looked += (looked.empty() ? "" : ", ") + path;
  }
  return Error{make_error_code(errc::not_found),
               "procctx-testchild not found (looked at " + looked + "; set PROCCTX_TESTCHILD to its path)",
               std::error_code{ENOENT, std::generic_category()}};
}

Command testchild_command(std::vector<std::string> behaviours, const char* hint) {
  auto path = find_testchild(hint);
  // Not found: name the first place looked at, so spawn's error says where.
  return Command{path ? *path : candidates(hint).front(), std::move(behaviours)};
}

}  // namespace internal

ReadyLatch::ReadyLatch() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {  // seam: the kit's own pipe, not the library's
    error_ = errno;
    return;
  }
  read_ = fds[0];
  write_ = fds[1];
}

ReadyLatch::~ReadyLatch() {
  if (read_ >= 0) (void)detail::sys::close_fd(read_);
  if (write_ >= 0) (void)detail::sys::close_fd(write_);
}

Command ReadyLatch::arm(Command cmd) const {
  if (write_ < 0) return cmd;
  int fd = free_child_fd(cmd);
  cmd.pass_fd(write_, fd);
  cmd.env(kReadyFdVariable, std::to_string(fd));
  return cmd;
}

Result<void> ReadyLatch::wait(std::size_t n, Duration timeout) {
  if (read_ < 0) return Error{std::error_code{error_, std::generic_category()}, "ReadyLatch: pipe2 failed"};
  TimePoint start = procctx::Clock::now();
  while (seen_ < n) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(timeout - since(start)).count();
    if (left <= 0) {
      return Error{make_error_code(errc::deadline_exceeded),
                   "ReadyLatch: " + std::to_string(seen_) + " of " + std::to_string(n) +
                       " children reported ready within the timeout"};
    }
    pollfd p{read_, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 1 << 30)));  // seam: the kit's own wait
    if (r < 0 && errno != EINTR)
      return Error{std::error_code{errno, std::generic_category()}, "ReadyLatch: poll"};
    if (r <= 0) continue;
    char buf[64];
    ssize_t got = ::read(read_, buf, sizeof buf);  // seam: the kit's own read
    if (got < 0 && errno != EINTR && errno != EAGAIN) {
      return Error{std::error_code{errno, std::generic_category()}, "ReadyLatch: read"};
    }
    if (got == 0) return {};  // every armed process is gone, and nobody else can write
    if (got > 0) seen_ += static_cast<std::size_t>(got);
  }
  return {};
}

Result<Process> spawn_ready(const Command& cmd, const Context& ctx, Duration timeout, SourceLocation where) {
  ReadyLatch latch;
  auto p = latch.arm(cmd).spawn(ctx, where);
  if (!p) return p;
  // Only the child holds the write end now: EOF means it ended unready.
  latch.seal();
  if (auto ready = latch.wait(1, timeout); !ready) {
    return Error{ready.error().code(), "spawn_ready: " + cmd.options().program +
                                           " did not report ready: " + ready.error().message()};
  }
  return p;
}

void ReadyLatch::seal() noexcept {
  if (write_ >= 0) (void)detail::sys::close_fd(write_);
  write_ = -1;
}

}  // namespace procctx::testing
