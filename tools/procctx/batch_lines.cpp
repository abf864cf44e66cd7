#include "batch_lines.hpp"

#include "batch_text.hpp"

#include <procctx/command.hpp>

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace procctx::cli::batch {
namespace {

constexpr std::uint64_t kWakeTag = ~std::uint64_t{0};
constexpr std::size_t kTailBytes = 1024;

}  // namespace

LineRelay::LineRelay(Sink& out, Sink& err, std::function<void()> on_broken_pipe)
    : out_(out), err_(err), on_broken_pipe_(std::move(on_broken_pipe)) {
  epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
  wake_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (!ok()) return;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWakeTag;
  ::epoll_ctl(epoll_, EPOLL_CTL_ADD, wake_, &ev);
  thread_ = std::thread{[this] { loop(); }};
}

LineRelay::~LineRelay() {
  if (thread_.joinable()) {
    {
      std::lock_guard lock{mu_};
      stop_ = true;
    }
    std::uint64_t one = 1;
    (void)!::write(wake_, &one, sizeof one);
    thread_.join();
  }
  for (auto& [token, job] : jobs_) {
    for (int which : {0, 1}) close_stream(job, which);
  }
  for (int fd : {epoll_, wake_}) {
    if (fd >= 0) ::close(fd);
  }
}

Result<LineRelay::ChildEnds> LineRelay::add(std::size_t token, std::string tag, int keep_out, int keep_err) {
  int po[2] = {-1, -1}, pe[2] = {-1, -1};
  if (::pipe2(po, O_CLOEXEC) != 0 || ::pipe2(pe, O_CLOEXEC) != 0) {
    int err = errno;
    for (int fd : {po[0], po[1]}) {
      if (fd >= 0) ::close(fd);
    }
    return Error{std::error_code{err, std::system_category()}, std::string{"a pipe for a job's output: "} + std::strerror(err)};
  }
  std::lock_guard lock{mu_};
  Job& job = jobs_[token];
  job.tag = std::move(tag);
  job.streams[0] = Stream{po[0], &out_, keep_out, {}, 0};
  job.streams[1] = Stream{pe[0], &err_, keep_err, {}, 0};
  for (int which : {0, 1}) {
    int fd = job.streams[which].fd;
    ::fcntl(fd, F_SETFL, O_NONBLOCK);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = (static_cast<std::uint64_t>(token) << 1) | static_cast<std::uint64_t>(which);
    ::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev);
  }
  return ChildEnds{FileHandle{po[1]}, FileHandle{pe[1]}};
}

void LineRelay::loop() {
  epoll_event events[64];
  for (;;) {
    int n = ::epoll_wait(epoll_, events, 64, -1);
    if (n < 0 && errno == EINTR) continue;
    std::lock_guard lock{mu_};
    if (stop_ || n < 0) return;
    for (int i = 0; i < n; ++i) {
      std::uint64_t tag = events[i].data.u64;
      if (tag == kWakeTag) {
        std::uint64_t count = 0;
        (void)!::read(wake_, &count, sizeof count);
        continue;
      }
      pump(static_cast<std::size_t>(tag >> 1), static_cast<int>(tag & 1));
    }
  }
}

void LineRelay::emit(Stream& s, bool at_eof, const std::string& tag) {
  auto last = s.partial.rfind('\n');
  std::string lines;
  if (last != std::string::npos) {
    for (std::size_t begin = 0; begin <= last;) {
      auto nl = s.partial.find('\n', begin);
      lines += tag;
      lines.append(s.partial, begin, nl - begin + 1);
      begin = nl + 1;
    }
    s.partial.erase(0, last + 1);
  }
  if (at_eof && !s.partial.empty()) {
    lines += tag + s.partial + "\n";
    s.partial.clear();
  }
  if (!lines.empty() && !s.sink->write(lines)) s.sink->count_lost_job();
  if (out_.broken_pipe() && !told_broken_) {
    told_broken_ = true;
    if (on_broken_pipe_) on_broken_pipe_();
  }
}

void LineRelay::pump(std::size_t token, int which) {
  auto it = jobs_.find(token);
  if (it == jobs_.end()) return;
  Job& job = it->second;
  Stream& s = job.streams[which];
  char buf[65536];
  while (s.fd >= 0) {
    ssize_t n = ::read(s.fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) {
      emit(s, true, job.tag);
      close_stream(job, which);
      cv_.notify_all();
      return;
    }
    std::string_view chunk{buf, static_cast<std::size_t>(n)};
    s.bytes += chunk.size();
    if (s.keep >= 0) (void)write_all(s.keep, chunk);  // --results: every byte, as it came
    if (which == 1) {
      job.err_tail.append(chunk);
      if (job.err_tail.size() > 2 * kTailBytes) job.err_tail.erase(0, job.err_tail.size() - kTailBytes);
    }
    s.partial.append(chunk);
    emit(s, false, job.tag);
  }
}

void LineRelay::close_stream(Job& job, int which) {
  Stream& s = job.streams[which];
  if (s.fd < 0) return;
  ::epoll_ctl(epoll_, EPOLL_CTL_DEL, s.fd, nullptr);
  ::close(s.fd);
  s.fd = -1;
}

LineRelay::Totals LineRelay::finish(std::size_t token, TimePoint until) {
  std::unique_lock lock{mu_};
  auto it = jobs_.find(token);
  if (it == jobs_.end()) return {};
  Job& job = it->second;
  cv_.wait_until(lock, until, [&] { return job.streams[0].fd < 0 && job.streams[1].fd < 0; });
  for (int which : {0, 1}) {
    // Held past `until` by something the job left behind: what is there, then no more.
    if (job.streams[which].fd >= 0) pump(token, which);
    emit(job.streams[which], true, job.tag);
    close_stream(job, which);
  }
  Totals t{job.streams[0].bytes, job.streams[1].bytes, std::move(job.err_tail)};
  if (t.err_tail.size() > kTailBytes) t.err_tail.erase(0, t.err_tail.size() - kTailBytes);
  jobs_.erase(it);
  return t;
}

void LineRelay::note(std::string_view text) {
  std::lock_guard lock{mu_};
  err_.write(text);
}

}  // namespace procctx::cli::batch
