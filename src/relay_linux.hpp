// relay_linux.hpp — Stdio::relay: a child's output copied to an fd of the
// caller's by procctx's loop, never blocking it.
//
// A RelaySink is one destination fd, shared by every relay that writes to
// it, so their writes go out one after another in the order they were
// queued and never mix inside one queued piece (a line, with whole_lines).
// Writes are non-blocking: a pipe, FIFO or terminal is reopened through
// /proc/self/fd with O_NONBLOCK (a new open file description: the caller's
// own fd keeps its flags); a socket is written with MSG_DONTWAIT; a regular
// file or another device is written as it is (such writes do not wait on a
// reader). What cannot be written now is queued; past a high-water mark the
// sources pause (the child blocks on its pipe, as with a slow reader in a
// shell) until the queue drains.
//
// A RelaySource is one child stream feeding a sink: it cuts whole lines and
// puts the prefix before each when asked, and counts what the child wrote
// and what reached the fd.
//
// Threads: push() and the counters may be used from any thread; the sink's
// own writes after EAGAIN happen on the loop thread. Lock order: a child's
// lock, then a sink's, then the loop's.
#pragma once

#include <procctx/command.hpp>
#include <procctx/process.hpp>
#include <procctx/result.hpp>

#include "loop_linux.hpp"
#include "sys_linux.hpp"

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <sys/stat.h>

namespace procctx::detail {

class RelaySource;

class RelaySink : public std::enable_shared_from_this<RelaySink> {
 public:
  // The sink writing to the caller's `fd` (one per fd number while any
  // relay uses it). Errors: `fd` is not open.
  static Result<std::shared_ptr<RelaySink>> for_fd(Loop& loop, int fd);
  RelaySink(const RelaySink&) = delete;
  RelaySink& operator=(const RelaySink&) = delete;
  ~RelaySink();

  // Queues `bytes` from `source` (of which `child_bytes` are the child's,
  // the rest prefixes) and writes what the fd takes now. False when the
  // source should pause: the queue is past its high-water mark, or the sink
  // no longer writes (see error()).
  bool push(RelaySource& source, std::string bytes, std::size_t child_bytes);
  // The first write error; empty while writing works.
  std::error_code error() const;
  bool broken() const { return error() == std::errc::broken_pipe; }
  // Forgets what `source` still has queued (counted as dropped by it).
  void discard(RelaySource& source);

 private:
  friend class RelaySource;
  struct Piece {
    std::weak_ptr<RelaySource> source;
    std::string bytes;
    std::size_t offset = 0;
    std::size_t child_bytes = 0;
  };
  using Wake = std::vector<std::shared_ptr<RelaySource>>;
  RelaySink(Loop& loop, int fd) : loop_(loop), caller_fd_(fd) {}
  Result<void> open_locked(const struct stat& st);
  // Writes queued pieces until the fd would block or fails; sources whose
  // last queued byte went out (or was dropped) are added to `wake`.
  void flush_locked(Wake& wake);
  sys::Ret write_some_locked(std::string_view bytes);
  void fail_locked(int err, Wake& wake);
  void piece_done_locked(Piece& p, bool delivered, Wake& wake);
  void on_writable();
  void wake_paused_locked(Wake& wake);
  void set_watch_locked(bool want, Wake& wake);
  void notify(Wake& wake);

  Loop& loop_;
  const int caller_fd_;
  dev_t key_dev_ = 0;  // the file behind caller_fd_ when the sink was made
  ino_t key_ino_ = 0;
  mutable std::mutex mu_;
  sys::UniqueFd own_fd_;  // a non-blocking reopening of caller_fd_, when one was made
  int fd_ = -1;           // what is written to
  enum class Mode { plain, nonblocking, socket, bounded } mode_ = Mode::plain;
  std::size_t bounded_chunk_ = 0;  // Mode::bounded: most bytes one write may take without blocking
  std::deque<Piece> queue_;
  std::size_t queued_ = 0;
  Loop::Id watch_ = 0;
  bool watching_ = false;
  std::error_code error_;
  std::vector<std::weak_ptr<RelaySource>> paused_;
};

class RelaySource : public std::enable_shared_from_this<RelaySource> {
 public:
  // `notify` runs on the loop thread when a paused source may go on, and
  // when the last of its queued bytes was written (or dropped).
  RelaySource(std::shared_ptr<RelaySink> sink, const RelayOptions& options, std::function<void()> notify);

  // What the child wrote. False when the source should pause (see
  // RelaySink::push); the bytes are taken either way.
  bool take(std::string_view bytes);
  // The child's stream ended: a last line without a newline gets one.
  void end();
  // Drops what is still queued (the context allows no more waiting).
  void give_up();

  bool paused() const;
  void set_paused(bool p);
  // True while bytes of this source wait in the sink.
  bool pending() const;
  const RelaySink& sink() const { return *sink_; }
  RelaySink& sink() { return *sink_; }
  // The Output of this stream: bytes the child wrote, those not written on, the error.
  Output finish() const;

 private:
  friend class RelaySink;
  bool push_lines(std::string_view bytes, bool at_end);

  std::shared_ptr<RelaySink> sink_;
  const bool whole_lines_;
  const std::string prefix_;
  std::string partial_;      // a line not yet ended (whole_lines)
  bool mid_line_ = false;    // a line too long to hold was cut: no prefix before its rest
  std::function<void()> notify_;
  std::uint64_t read_ = 0;  // bytes the child wrote
  // Guarded by the sink's lock.
  std::uint64_t delivered_ = 0;
  std::size_t queued_pieces_ = 0;
  bool paused_ = false;
};

}  // namespace procctx::detail
