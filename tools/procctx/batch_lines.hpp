// batch_lines.hpp — --line-buffer: the jobs' output goes to procctx's stdout
// and stderr as whole lines while the jobs run (lines of different jobs
// interleave, never the bytes of one line), with --tag prefixes, also into
// --results files when asked.
//
// This relays pipes on one thread of its own until procctx's library
// relays a child's output to a caller's fd by itself (Stdio::relay with
// whole_lines and line_prefix); then the runner hands the pipes to it and
// this file goes away. Only --line-buffer starts the thread.
#pragma once

#include "batch_output.hpp"

#include <procctx/procctx.hpp>

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace procctx::cli::batch {

class LineRelay {
 public:
  // `on_broken_pipe` runs (on the relay's thread) the first time the reader
  // of procctx's stdout is found gone.
  LineRelay(Sink& out, Sink& err, std::function<void()> on_broken_pipe);
  ~LineRelay();
  LineRelay(const LineRelay&) = delete;
  LineRelay& operator=(const LineRelay&) = delete;
  bool ok() const { return epoll_ >= 0 && wake_ >= 0; }

  // Pipes for one job; the write ends (the caller gives them to the child
  // and closes them) are returned. `keep_out`/`keep_err`: --results files
  // that get a copy of every byte (or -1).
  struct ChildEnds {
    FileHandle out, err;
  };
  Result<ChildEnds> add(std::size_t token, std::string tag, int keep_out, int keep_err);

  // After the job ended: relays what is left until both pipes reach EOF or
  // `until` passes (something the job left behind holds them), then stops.
  struct Totals {
    std::uint64_t out_bytes = 0, err_bytes = 0;
    std::string err_tail;
  };
  Totals finish(std::size_t token, TimePoint until);

  // A line of procctx's own on stderr, never inside a job's line.
  void note(std::string_view text);

 private:
  struct Stream {
    int fd = -1;
    Sink* sink = nullptr;
    int keep = -1;
    std::string partial;
    std::uint64_t bytes = 0;
  };
  struct Job {
    std::string tag;
    Stream streams[2];
    std::string err_tail;
  };
  void loop();
  void pump(std::size_t token, int which);
  void close_stream(Job& job, int which);
  void emit(Stream& s, bool at_eof, const std::string& tag);

  Sink& out_;
  Sink& err_;
  std::function<void()> on_broken_pipe_;
  bool told_broken_ = false;
  int epoll_ = -1, wake_ = -1;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::size_t, Job> jobs_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace procctx::cli::batch
