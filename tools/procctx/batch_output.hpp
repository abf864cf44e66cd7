// batch_output.hpp — where the jobs' output goes in `procctx batch`'s
// default (grouped) mode, and how it reaches procctx's own stdout and stderr.
//
// A job writes straight into files, never through procctx: unlinked
// temporary files that a pool hands out and takes back (making a file per
// job costs more than running /bin/true on a filesystem like ext4), or its
// --results files. A file comes back to the pool only when nothing holds it
// any more: the child gets a file description of its own, and a write lease
// can be had only once every other description is closed, so output from a
// process a job left behind never lands in another job's output. A finished
// job that has to wait for its turn (--keep-order) is copied into one spool
// file, so waiting jobs hold no file descriptors.
//
// Writing to procctx's stdout and stderr is checked: a reader that went
// away (EPIPE) and any other write error (ENOSPC...) are counted per
// stream; the runner halts on the first and reports the second.
#pragma once

#include "batch_files.hpp"
#include "batch_log.hpp"

#include <procctx/result.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <sys/types.h>

namespace procctx::cli::batch {

// procctx's stdout or stderr.
class Sink {
 public:
  // A stream the caller closed is /dev/null opened for reading (main()):
  // every write fails with EBADF, and counts as lost.
  Sink(int fd, std::string name);

  // Writes `bytes`; false if they did not all get through.
  bool write(std::string_view bytes);
  // Copies `length` bytes of `file` from `offset`, each line after `tag`.
  bool copy(int file, off_t offset, off_t length, const std::string& tag);

  int fd() const { return fd_; }
  bool broken_pipe() const { return error_ == EPIPE; }
  // A job's output was cut short here: counts it (call once per job).
  void count_lost_job() { ++loss_.jobs; }
  // What procctx's relay could not write of a job's output here (errno, bytes).
  void relay_failed(int err, std::uint64_t bytes);
  std::uint64_t lost_bytes() const { return loss_.bytes; }
  // What was lost, if anything.
  std::optional<WriteLoss> loss() const;

 private:
  bool failed(int err, std::uint64_t bytes);
  bool copy_tagged(int file, off_t offset, off_t length, const std::string& tag);

  int fd_;
  int error_ = 0;
  WriteLoss loss_;
};

// Unlinked files for the jobs' stdout and stderr, used again when free.
// Thread-safe.
class FilePool {
 public:
  explicit FilePool(std::string dir);
  struct Pair {
    FileHandle out, err;              // procctx's descriptions: for reading and truncating
    FileHandle child_out, child_err;  // the child's own descriptions (closed after the spawn)
  };
  // A pair with the child's descriptions ready (see the top of this file).
  Result<Pair> take();
  // Keeps `p` for another job when nothing else holds its files, else
  // closes them. The sizes, when known (-1: not), save a look at the files.
  // The work (a lease, a truncate, the next child's descriptions) is done
  // here, by the caller, so that take() is quick.
  void give_back(Pair p, off_t out_size = -1, off_t err_size = -1);

 private:
  bool free_of_holders(int fd);
  Result<FileHandle> child_end(int file);
  std::string dir_;
  FileHandle proc_fds_;  // /proc/self/fd, to open the pool's files again
  std::mutex mu_;
  std::vector<Pair> free_;
  std::atomic<bool> recycle_{true};  // false once this system cannot tell holders (no /proc, no leases)
};

// One file holding finished jobs' output until their turn comes.
class Spool {
 public:
  explicit Spool(std::string dir) : dir_(std::move(dir)) {}
  struct Piece {
    off_t offset = 0, length = 0;
  };
  // Copies the first `length` bytes of `file`.
  Result<Piece> keep(int file, off_t length);
  int fd() const { return file_.fd(); }
  // The piece was printed: its disk space is given back.
  void release(Piece p);

 private:
  std::string dir_;
  FileHandle file_;
  off_t end_ = 0;
  std::size_t pieces_ = 0;
};

// One finished attempt's output on its way to procctx's stdout and stderr.
struct JobOutput {
  std::size_t index = 0;   // the job's place in the input
  FileHandle out, err;     // the files holding it
  bool pooled = false;     // the files came from the FilePool (else they are --results files)
  off_t out_size = -1, err_size = -1;  // what they hold, when known (-1: look)
  std::string tag, note;   // --tag; the line procctx adds on stderr
};

// Prints whole jobs, now or (--keep-order) in input order.
class Printer {
 public:
  // `done_with` gets each JobOutput back once its files are no longer needed.
  Printer(Sink& out, Sink& err, std::string tmpdir, bool keep_order, std::function<void(JobOutput&&)> done_with)
      : out_(out), err_(err), spool_(std::move(tmpdir)), keep_order_(keep_order), done_with_(std::move(done_with)) {}

  // Prints `o`, or keeps it to print in its turn. `last`: no other attempt
  // of this job follows (earlier attempts are printed at once).
  void finished(JobOutput o, bool last);
  // At the end: whatever still waits, in order.
  void flush();

 private:
  struct Waiting {
    JobOutput output;     // its files are still open if it could not be spooled
    Spool::Piece out, err;
    bool spooled = false;
    std::string tag, note;
  };
  void print(Waiting& w);
  void advance();

  Sink& out_;
  Sink& err_;
  Spool spool_;
  bool keep_order_;
  std::function<void(JobOutput&&)> done_with_;
  std::size_t next_ = 0;  // the job index whose output is printed next
  std::map<std::size_t, Waiting> waiting_;
};

}  // namespace procctx::cli::batch
