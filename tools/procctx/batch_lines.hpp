// batch_lines.hpp — --line-buffer together with --results: each job writes
// into its DIR/SEQ/stdout and stderr, and what they gain is printed on
// procctx's stdout and stderr in whole lines (with --tag prefixes) while the
// job runs, so both keep every byte. The runner looks every 50 ms and when
// a job ends. (Without --results, procctx's own relay, Stdio::relay with
// whole lines, prints the lines: see batch_attempt.)
#pragma once

#include "batch_output.hpp"

#include <map>
#include <mutex>
#include <string>

namespace procctx::cli::batch {

class LineFollower {
 public:
  LineFollower(Sink& out, Sink& err) : out_(out), err_(err) {}

  // Any thread. The fds stay the caller's; they must stay open until finish().
  void add(std::size_t token, std::string tag, int out_fd, int err_fd);
  // The runner's thread: prints the whole lines the files have gained.
  void follow();
  bool following() const;

  struct Totals {
    std::uint64_t out_bytes = 0, err_bytes = 0;
    std::string err_tail;
  };
  // After the job ended: the rest (a last line without its newline gets
  // one), and stops following it.
  Totals finish(std::size_t token);

 private:
  struct Stream {
    int fd = -1;
    off_t offset = 0;
    std::string partial;
    Sink* sink = nullptr;
  };
  struct Job {
    std::string tag;
    Stream streams[2];
    std::string err_tail;
  };
  void pump(Job& job, int which, bool at_end);

  Sink& out_;
  Sink& err_;
  mutable std::mutex mu_;
  std::map<std::size_t, Job> jobs_;
};

}  // namespace procctx::cli::batch
