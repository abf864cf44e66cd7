#include "relay_linux.hpp"

#include <algorithm>
#include <climits>
#include <map>
#include <utility>

#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

namespace procctx::detail {
namespace {

// Past this much queued, sources pause; below the low mark they go on.
constexpr std::size_t kHighWater = std::size_t{1} << 20;
constexpr std::size_t kLowWater = kHighWater / 4;
// A line longer than this is written in pieces rather than held whole.
constexpr std::size_t kMaxLine = std::size_t{1} << 20;
// Terminals take at least this much after POLLOUT without blocking.
constexpr std::size_t kTtyChunk = 256;

// One sink per open file behind a caller's fd number while any relay uses
// it: the key holds the file's identity, so an fd number closed and reused
// for another file gets a sink of its own.
struct SinkKey {
  int fd;
  dev_t dev;
  ino_t ino;
  auto operator<=>(const SinkKey&) const = default;
};
std::mutex sinks_mu;
std::map<SinkKey, std::weak_ptr<RelaySink>>& sinks() {
  static auto* m = new std::map<SinkKey, std::weak_ptr<RelaySink>>;  // never destroyed: used at exit
  return *m;
}

}  // namespace

Result<std::shared_ptr<RelaySink>> RelaySink::for_fd(Loop& loop, int fd) {
  struct stat st {};
  sys::Ret r = sys::call(sys::Call::fstat, [&] { return ::fstat(fd, &st); });
  if (!r.ok()) return sys::error(r, "relay to fd " + std::to_string(fd));
  SinkKey key{fd, st.st_dev, st.st_ino};
  std::lock_guard lock{sinks_mu};
  auto& slot = sinks()[key];
  if (auto s = slot.lock()) return s;
  std::shared_ptr<RelaySink> sink{new RelaySink{loop, fd}};
  sink->key_dev_ = st.st_dev;
  sink->key_ino_ = st.st_ino;
  {
    std::lock_guard sink_lock{sink->mu_};
    if (auto opened = sink->open_locked(st); !opened) {
      sinks().erase(key);
      return std::move(opened).error();
    }
  }
  slot = sink;
  return sink;
}

RelaySink::~RelaySink() {
  if (watch_) loop_.unwatch(watch_, fd_);
  std::lock_guard lock{sinks_mu};
  auto it = sinks().find(SinkKey{caller_fd_, key_dev_, key_ino_});
  if (it != sinks().end() && it->second.expired()) sinks().erase(it);
}

Result<void> RelaySink::open_locked(const struct stat& st) {
  fd_ = caller_fd_;
  if (S_ISSOCK(st.st_mode)) {
    mode_ = Mode::socket;
    return {};
  }
  const bool tty = S_ISCHR(st.st_mode) && ::isatty(caller_fd_);
  if (!S_ISFIFO(st.st_mode) && !tty) return {};  // files and devices: writes do not wait on a reader
  sys::Ret flags = sys::call(sys::Call::fcntl, [&] { return ::fcntl(caller_fd_, F_GETFL); });
  if (flags.ok() && (flags.value & O_NONBLOCK)) {
    mode_ = Mode::nonblocking;
    return {};
  }
  // A new open file description of the same pipe or terminal, non-blocking
  // without touching the caller's.
  std::string path = "/proc/self/fd/" + std::to_string(caller_fd_);
  sys::Ret reopened = sys::call(sys::Call::open, [&] {
    return ::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  });
  if (reopened.ok()) {
    auto lifted = sys::lift_above_stdio(sys::UniqueFd{static_cast<int>(reopened.value)});
    if (!lifted) return std::move(lifted).error();
    own_fd_ = std::move(*lifted);
    fd_ = own_fd_.get();
    mode_ = Mode::nonblocking;
    return {};
  }
  if (reopened.err == ENXIO) {  // a FIFO without a reader: it is gone already
    error_ = std::error_code{EPIPE, std::generic_category()};
    return {};
  }
  // No /proc: write only as much as POLLOUT promises will not block.
  mode_ = Mode::bounded;
  bounded_chunk_ = tty ? kTtyChunk : PIPE_BUF;
  return {};
}

std::error_code RelaySink::error() const {
  std::lock_guard lock{mu_};
  return error_;
}

sys::Ret RelaySink::write_some_locked(std::string_view bytes) {
  switch (mode_) {
    case Mode::socket:
      return sys::call(sys::Call::write, [&] {
        return ::send(fd_, bytes.data(), bytes.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      });
    case Mode::bounded: {
      pollfd p{fd_, POLLOUT, 0};
      sys::Ret ready = sys::call(sys::Call::poll, [&] { return ::poll(&p, 1, 0); });
      if (!ready.ok()) return ready;
      if (ready.value == 0) return {-1, EAGAIN};
      if (p.revents & (POLLERR | POLLHUP)) return {-1, EPIPE};
      bytes = bytes.substr(0, bounded_chunk_);
      break;
    }
    case Mode::plain:
    case Mode::nonblocking:
      break;
  }
  return sys::call(sys::Call::write, [&] { return ::write(fd_, bytes.data(), bytes.size()); });
}

void RelaySink::piece_done_locked(Piece& p, bool delivered, Wake& wake) {
  auto s = p.source.lock();
  if (!s) return;
  if (delivered) s->delivered_ += p.child_bytes;
  if (--s->queued_pieces_ == 0) wake.push_back(std::move(s));
}

void RelaySink::fail_locked(int err, Wake& wake) {
  if (!error_) error_ = std::error_code{err, std::generic_category()};
  // Nothing more will be written: what is queued is dropped (each source
  // counts it as what the child wrote less what was delivered).
  for (Piece& p : queue_) piece_done_locked(p, false, wake);
  queue_.clear();
  queued_ = 0;
  wake_paused_locked(wake);
}

void RelaySink::flush_locked(Wake& wake) {
  while (!queue_.empty() && !error_) {
    Piece& p = queue_.front();
    std::string_view rest = std::string_view{p.bytes}.substr(p.offset);
    sys::Ret r = write_some_locked(rest);
    if (!r.ok()) {
      if (r.err != EAGAIN) fail_locked(r.err, wake);
      return;
    }
    auto n = static_cast<std::size_t>(r.value);
    p.offset += n;
    queued_ -= n;
    if (p.offset < p.bytes.size()) continue;
    piece_done_locked(p, true, wake);
    queue_.pop_front();
  }
}

void RelaySink::set_watch_locked(bool want, Wake& wake) {
  if (want == watching_ || mode_ == Mode::plain) return;
  watching_ = want;
  if (!want) {
    loop_.unwatch(std::exchange(watch_, 0), fd_);
    return;
  }
  std::weak_ptr<RelaySink> weak = weak_from_this();
  auto w = loop_.watch(fd_, EPOLLOUT, [weak](std::uint32_t) {
    if (auto s = weak.lock()) s->on_writable();
  });
  if (w) {
    watch_ = *w;
    return;
  }
  // The loop cannot watch this fd: what cannot be written now is lost, and said so.
  watching_ = false;
  fail_locked(w.error().code().value(), wake);
}

void RelaySink::wake_paused_locked(Wake& wake) {
  if (!error_ && queued_ > kLowWater) return;
  for (auto& w : paused_) {
    if (auto s = w.lock()) wake.push_back(std::move(s));
  }
  paused_.clear();
}

void RelaySink::notify(Wake& wake) {
  // Posted, never called here: the caller may hold a child's lock, and
  // notify_ takes it.
  for (auto& s : wake) loop_.post(s->notify_);
}

bool RelaySink::push(RelaySource& source, std::string bytes, std::size_t child_bytes) {
  Wake wake;
  bool go_on;
  {
    std::lock_guard lock{mu_};
    if (error_) return false;
    if (bytes.empty()) return true;
    queued_ += bytes.size();
    ++source.queued_pieces_;
    queue_.push_back({source.weak_from_this(), std::move(bytes), 0, child_bytes});
    // Writes that could raise SIGPIPE happen on the loop thread, which has
    // every signal blocked; other threads only queue (sockets are written
    // with MSG_NOSIGNAL from anywhere).
    if (loop_.on_loop_thread() || mode_ == Mode::socket || mode_ == Mode::plain) flush_locked(wake);
    set_watch_locked(!queue_.empty() && !error_, wake);
    go_on = !error_ && queued_ <= kHighWater;
    if (!go_on && !error_) paused_.push_back(source.weak_from_this());
    wake_paused_locked(wake);
  }
  notify(wake);
  return go_on;
}

void RelaySink::on_writable() {
  Wake wake;
  {
    std::lock_guard lock{mu_};
    flush_locked(wake);
    set_watch_locked(!queue_.empty() && !error_, wake);
    wake_paused_locked(wake);
  }
  notify(wake);
}

void RelaySink::discard(RelaySource& source) {
  Wake wake;
  {
    std::lock_guard lock{mu_};
    for (auto it = queue_.begin(); it != queue_.end();) {
      // A piece already being written stays, so no other piece is cut into.
      bool started = it == queue_.begin() && it->offset > 0;
      if (!started && it->source.lock().get() == &source) {
        queued_ -= it->bytes.size();
        piece_done_locked(*it, false, wake);
        it = queue_.erase(it);
      } else {
        ++it;
      }
    }
    set_watch_locked(!queue_.empty() && !error_, wake);
    wake_paused_locked(wake);
  }
  notify(wake);
}

RelaySource::RelaySource(std::shared_ptr<RelaySink> sink, const RelayOptions& options, std::function<void()> notify)
    : sink_(std::move(sink)),
      whole_lines_(options.whole_lines || !options.line_prefix.empty()),
      prefix_(options.line_prefix),
      notify_(std::move(notify)) {}

bool RelaySource::take(std::string_view bytes) {
  read_ += bytes.size();
  if (!whole_lines_) return sink_->push(*this, std::string{bytes}, bytes.size());
  return push_lines(bytes, false);
}

bool RelaySource::push_lines(std::string_view bytes, bool at_end) {
  partial_.append(bytes);
  std::size_t last = partial_.rfind('\n');
  std::size_t cut = last == std::string::npos ? 0 : last + 1;
  const bool too_long = partial_.size() - cut > kMaxLine;
  if (at_end || too_long) cut = partial_.size();
  if (cut == 0) return !sink_->error();
  std::string out;
  out.reserve(cut + prefix_.size() * 4);
  std::size_t child = 0;
  for (std::size_t begin = 0; begin < cut;) {
    std::size_t nl = partial_.find('\n', begin);
    std::size_t stop = nl == std::string::npos || nl >= cut ? cut : nl + 1;
    if (!mid_line_) out += prefix_;
    out.append(partial_, begin, stop - begin);
    child += stop - begin;
    mid_line_ = partial_[stop - 1] != '\n';
    begin = stop;
  }
  if (at_end && mid_line_) {
    out += '\n';  // the child's last line, ended for it
    mid_line_ = false;
  }
  partial_.erase(0, cut);
  return sink_->push(*this, std::move(out), child);
}

void RelaySource::end() {
  if (whole_lines_ && !partial_.empty()) (void)push_lines({}, true);
}

void RelaySource::give_up() { sink_->discard(*this); }

bool RelaySource::paused() const {
  std::lock_guard lock{sink_->mu_};
  return paused_;
}

void RelaySource::set_paused(bool p) {
  std::lock_guard lock{sink_->mu_};
  paused_ = p;
}

bool RelaySource::pending() const {
  std::lock_guard lock{sink_->mu_};
  return queued_pieces_ > 0;
}

Output RelaySource::finish() const {
  std::lock_guard lock{sink_->mu_};
  std::uint64_t delivered = std::min(delivered_, read_);
  return Output::relayed(delivered, read_ - delivered, sink_->error_);
}

}  // namespace procctx::detail
