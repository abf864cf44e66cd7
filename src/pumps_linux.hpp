// pumps_linux.hpp — the pipes procctx itself reads and writes for a child:
// an OutputPump per captured or relayed stream, a StdinFeed for
// Stdio::data(). Each owns its parent end and its loop watch; the child's
// state decides what their events mean.
//
// Threads: every member is called with the owning child's lock held.
#pragma once

#include <procctx/command.hpp>
#include <procctx/process.hpp>

#include "capture.hpp"
#include "loop_linux.hpp"
#include "relay_linux.hpp"
#include "sys_linux.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace procctx::detail {

class OutputPump {
 public:
  // What drain() saw.
  enum class Read {
    open,         // read what there was; more may come
    eof,          // the pipe ended (and is closed now)
    paused,       // a relay's fd is backed up: reading waits for resume()
    broken_pipe,  // a relay's reader went away, with BrokenPipe::stop: the pipe is closed
  };

  void capture(sys::UniqueFd fd, std::size_t limit);
  void relay(sys::UniqueFd fd, std::shared_ptr<RelaySource> source, BrokenPipe on_broken_pipe);
  // Starts reading when the loop says the pipe is readable: `on_ready`
  // runs on the loop thread (it must lock the child and call drain()).
  Result<void> watch(Loop& loop, std::function<void()> on_ready);

  // True while the pipe is open.
  bool open() const noexcept { return static_cast<bool>(fd_); }
  // Reads what the pipe has, up to 4 MiB per call (one chatty child cannot
  // starve the others).
  Read drain();
  // A paused relay reads again.
  void resume();
  bool paused() const;
  // True while a relay's bytes are still on their way to its fd.
  bool delivering() const;
  // Reads what is already there, then closes the pipe (the wait for its
  // holders is over), dropping what a relay still has queued.
  void give_up();
  // Closes the pipe now.
  void close() noexcept;

  int fd() const noexcept { return fd_.get(); }
  std::uint64_t bytes_read() const noexcept { return read_; }
  // The stream's Output (a capture's bytes, or a relay's counts). Once.
  Output finish();

 private:
  void count(std::size_t n, bool discarded);

  sys::UniqueFd fd_;
  Loop* loop_ = nullptr;
  Loop::Id watch_ = 0;
  Capture capture_;
  std::shared_ptr<RelaySource> relay_;
  BrokenPipe on_broken_pipe_ = BrokenPipe::stop;
  std::uint64_t read_ = 0;
  bool widened_ = false;  // pipe buffer raised for a heavy writer
};

class StdinFeed {
 public:
  void feed(sys::UniqueFd fd, std::shared_ptr<const std::string> bytes);
  Result<void> watch(Loop& loop, std::function<void()> on_ready);
  bool open() const noexcept { return static_cast<bool>(fd_); }
  // Writes what the pipe takes; closes it when all is written or the child
  // stopped reading.
  void write_some();
  // Closes it now; what was not written counts as not taken.
  void close() noexcept;
  std::uint64_t written() const noexcept { return offset_; }
  bool closed_early() const noexcept { return closed_early_; }

 private:
  sys::UniqueFd fd_;
  Loop* loop_ = nullptr;
  Loop::Id watch_ = 0;
  std::shared_ptr<const std::string> bytes_;
  std::size_t offset_ = 0;
  bool closed_early_ = false;
};

}  // namespace procctx::detail
