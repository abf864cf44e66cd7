#include "batch_lines.hpp"

#include <cerrno>

#include <unistd.h>

namespace procctx::cli::batch {
namespace {

constexpr std::size_t kTailBytes = 1024;

}  // namespace

void LineFollower::add(std::size_t token, std::string tag, int out_fd, int err_fd) {
  std::lock_guard lock{mu_};
  Job& job = jobs_[token];
  job.tag = std::move(tag);
  job.streams[0] = Stream{out_fd, 0, {}, &out_};
  job.streams[1] = Stream{err_fd, 0, {}, &err_};
}

bool LineFollower::following() const {
  std::lock_guard lock{mu_};
  return !jobs_.empty();
}

void LineFollower::pump(Job& job, int which, bool at_end) {
  Stream& s = job.streams[which];
  char buf[65536];
  for (;;) {
    ssize_t n = ::pread(s.fd, buf, sizeof buf, s.offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    s.offset += n;
    s.partial.append(buf, static_cast<std::size_t>(n));
    if (which == 1) {
      job.err_tail.append(buf, static_cast<std::size_t>(n));
      if (job.err_tail.size() > 2 * kTailBytes) job.err_tail.erase(0, job.err_tail.size() - kTailBytes);
    }
  }
  std::string lines;
  auto last = s.partial.rfind('\n');
  if (last != std::string::npos) {
    for (std::size_t begin = 0; begin <= last;) {
      auto nl = s.partial.find('\n', begin);
      lines += job.tag;
      lines.append(s.partial, begin, nl - begin + 1);
      begin = nl + 1;
    }
    s.partial.erase(0, last + 1);
  }
  if (at_end && !s.partial.empty()) {
    lines += job.tag + s.partial + "\n";
    s.partial.clear();
  }
  // One write per batch of whole lines: another job's lines never land inside one.
  if (!lines.empty() && !s.sink->write(lines)) s.sink->count_lost_job();
}

void LineFollower::follow() {
  std::lock_guard lock{mu_};
  for (auto& [token, job] : jobs_) {
    for (int which : {0, 1}) pump(job, which, false);
  }
}

LineFollower::Totals LineFollower::finish(std::size_t token) {
  std::lock_guard lock{mu_};
  auto it = jobs_.find(token);
  if (it == jobs_.end()) return {};
  Job& job = it->second;
  for (int which : {0, 1}) pump(job, which, true);
  Totals t{static_cast<std::uint64_t>(job.streams[0].offset), static_cast<std::uint64_t>(job.streams[1].offset),
           std::move(job.err_tail)};
  if (t.err_tail.size() > kTailBytes) t.err_tail.erase(0, t.err_tail.size() - kTailBytes);
  jobs_.erase(it);
  return t;
}

}  // namespace procctx::cli::batch
