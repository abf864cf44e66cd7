// batch_files.hpp — the files `procctx batch` writes besides job output:
// the job log, appended to a record at a time (a torn last line fenced off
// first), and the summary and report, opened before the first job runs (so
// an unwritable path fails at once) and written at the end. And what an
// earlier run's job log says, for --resume.
#pragma once

#include "batch_log.hpp"

#include <procctx/result.hpp>

#include <string>
#include <unordered_map>

namespace procctx::cli::batch {

// A file opened for writing that closes itself.
class FileHandle {
 public:
  FileHandle() = default;
  explicit FileHandle(int fd) : fd_(fd) {}
  FileHandle(FileHandle&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  FileHandle& operator=(FileHandle&& o) noexcept;
  ~FileHandle();
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

class JobLogFile {
 public:
  // Truncates `path`, or with `append` adds to it; a last line without its
  // newline (a crash, a full disk) is fenced off with one, so the next
  // record starts a line of its own (`fenced()` says so). The parallel format
  // starts with its header line.
  static Result<JobLogFile> open(const std::string& path, bool append, bool parallel_format);
  // One record, in one write.
  Result<void> write(const JobRecord& r);
  bool fenced() const { return fenced_; }

 private:
  FileHandle file_;
  std::string path_;
  bool parallel_format_ = false, fenced_ = false;
};

// --summary-json, --report: opened (created if need be, not yet truncated)
// before anything runs, written whole at the end.
class OutputFile {
 public:
  static Result<OutputFile> open(const std::string& flag, const std::string& path);
  Result<void> replace(std::string_view text);

 private:
  FileHandle file_;
  std::string flag_, path_;
};

// What --resume goes by: per job id, how its last final attempt ended.
struct PastRuns {
  struct Outcome {
    bool finished = false;  // it ended by itself (success or failure), not stopped by a halt or the deadline
    bool success = false;
    double start = 0;
  };
  std::unordered_map<std::string, Outcome> last;
  std::size_t unreadable = 0;  // lines that are not records
  bool torn_tail = false;      // the last line had no newline
};

// Reads an earlier job log (a missing file is an empty one). A file that is
// not procctx's job log — GNU parallel's format, anything else — is refused.
Result<PastRuns> read_past_runs(const std::string& path);

// "'path': message" as an error of `flag`.
Error file_error(const std::string& flag, const std::string& path, const std::string& what);

}  // namespace procctx::cli::batch
