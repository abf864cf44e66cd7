#include "pumps_linux.hpp"

#include <algorithm>

#include <fcntl.h>
#include <sys/epoll.h>
#include <unistd.h>

namespace procctx::detail {
namespace {

constexpr std::size_t kDrainBudget = std::size_t{4} << 20;
constexpr std::uint64_t kWidenAfter = std::uint64_t{4} << 20;
constexpr int kWidePipe = 1 << 20;
constexpr std::size_t kFeedChunk = std::size_t{1} << 20;

}  // namespace

void OutputPump::capture(sys::UniqueFd fd, std::size_t limit) {
  fd_ = std::move(fd);
  capture_ = Capture{limit};
}

void OutputPump::relay(sys::UniqueFd fd, std::shared_ptr<RelaySource> source, BrokenPipe on_broken_pipe) {
  fd_ = std::move(fd);
  relay_ = std::move(source);
  on_broken_pipe_ = on_broken_pipe;
}

Result<void> OutputPump::watch(Loop& loop, std::function<void()> on_ready) {
  loop_ = &loop;
  auto w = loop.watch(fd_.get(), EPOLLIN, [fn = std::move(on_ready)](std::uint32_t) { fn(); });
  if (!w) return std::move(w).error();
  watch_ = *w;
  return {};
}

void OutputPump::count(std::size_t n, bool discarded) {
  read_ += n;
  if (!widened_ && read_ >= kWidenAfter) {
    // A heavy writer: a 1 MiB pipe means 16x fewer wake-ups. Only such
    // pipes get it, since unprivileged users share a budget of pipe pages
    // (fs.pipe-user-pages-soft). Refusal just keeps the default.
    widened_ = true;
    (void)sys::call(sys::Call::fcntl, [&] { return ::fcntl(fd_.get(), F_SETPIPE_SZ, kWidePipe); });
  }
  if (!relay_) {
    if (discarded)
      capture_.count_discarded(n);
    else
      capture_.commit(n);
  }
}

OutputPump::Read OutputPump::drain() {
  static thread_local char scratch[64 * 1024];
  std::size_t budget = kDrainBudget;
  while (fd_ && budget > 0) {
    if (relay_ && relay_->paused()) return Read::paused;
    std::span<char> space = relay_ ? std::span<char>{} : capture_.space();
    bool discarded = space.empty();
    if (discarded) space = {scratch, sizeof scratch};
    std::size_t want = std::min(space.size(), budget);
    sys::Ret r = sys::call(sys::Call::read, [&] { return ::read(fd_.get(), space.data(), want); });
    if (!r.ok() && r.err == EAGAIN) return Read::open;
    if (!r.ok() || r.value == 0) {  // EIO and friends are an end too
      if (relay_) relay_->end();
      close();
      return Read::eof;
    }
    auto n = static_cast<std::size_t>(r.value);
    budget -= n;
    count(n, discarded);
    if (relay_ && !relay_->take({space.data(), n})) {
      const RelaySink& sink = relay_->sink();
      if (!sink.error()) {
        // Backed up: the child waits on its pipe until the sink drains.
        relay_->set_paused(true);
        (void)loop_->set_events(watch_, fd_.get(), 0);
        return Read::paused;
      }
      if (sink.broken() && on_broken_pipe_ == BrokenPipe::stop) {
        close();
        return Read::broken_pipe;
      }
      // Any other write error: read on, counting what is dropped.
    }
  }
  return Read::open;
}

void OutputPump::resume() {
  if (!relay_ || !relay_->paused() || !fd_) return;
  relay_->set_paused(false);
  (void)loop_->set_events(watch_, fd_.get(), EPOLLIN);
}

bool OutputPump::paused() const { return fd_ && relay_ && relay_->paused(); }

bool OutputPump::delivering() const { return relay_ && relay_->pending(); }

void OutputPump::give_up() {
  if (relay_) relay_->set_paused(false);
  (void)drain();  // what is already there (bounded: a holder may still be writing)
  if (relay_) {
    relay_->end();
    relay_->give_up();
  }
  close();
}

void OutputPump::close() noexcept {
  if (!fd_) return;
  if (loop_) loop_->unwatch(std::exchange(watch_, 0), fd_.get());
  fd_.reset();
}

Output OutputPump::finish() {
  if (!relay_) return capture_.finish();
  Output out = relay_->finish();
  // The sink, and the fd it opened, go with the last child using it, so the
  // caller's reader sees EOF once every child is done.
  relay_.reset();
  return out;
}

void StdinFeed::feed(sys::UniqueFd fd, std::shared_ptr<const std::string> bytes) {
  fd_ = std::move(fd);
  bytes_ = std::move(bytes);
}

Result<void> StdinFeed::watch(Loop& loop, std::function<void()> on_ready) {
  loop_ = &loop;
  auto w = loop.watch(fd_.get(), EPOLLOUT, [fn = std::move(on_ready)](std::uint32_t) { fn(); });
  if (!w) return std::move(w).error();
  watch_ = *w;
  return {};
}

void StdinFeed::write_some() {
  while (fd_) {
    if (offset_ == bytes_->size()) {
      close();
      return;
    }
    std::size_t chunk = std::min(bytes_->size() - offset_, kFeedChunk);
    sys::Ret r = sys::call(sys::Call::write, [&] { return ::write(fd_.get(), bytes_->data() + offset_, chunk); });
    if (!r.ok() && r.err == EAGAIN) return;
    if (!r.ok()) {
      // EPIPE: the child (and everyone else) closed stdin. Not fatal.
      close();
      return;
    }
    offset_ += static_cast<std::size_t>(r.value);
  }
}

void StdinFeed::close() noexcept {
  if (!fd_) return;
  if (bytes_ && offset_ < bytes_->size()) closed_early_ = true;
  if (loop_) loop_->unwatch(std::exchange(watch_, 0), fd_.get());
  fd_.reset();
  bytes_.reset();
}

}  // namespace procctx::detail
