#include "batch_files.hpp"

#include "batch_text.hpp"

#include <procctx/command.hpp>

#include <cerrno>
#include <cstring>
#include <fstream>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace procctx::cli::batch {

Error file_error(const std::string& flag, const std::string& path, const std::string& what) {
  return Error{make_error_code(errc::invalid_argument), flag + " " + quote(path) + ": " + what};
}

FileHandle& FileHandle::operator=(FileHandle&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(o.fd_, -1);
  }
  return *this;
}

FileHandle::~FileHandle() {
  if (fd_ >= 0) ::close(fd_);
}

namespace {

// The last byte of the file open on `fd`, if it has one.
std::optional<char> last_byte(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0) return std::nullopt;
  char c = 0;
  if (::pread(fd, &c, 1, st.st_size - 1) != 1) return std::nullopt;
  return c;
}

}  // namespace

Result<JobLogFile> JobLogFile::open(const std::string& path, bool append, bool parallel_format) {
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC);
  JobLogFile log;
  log.file_ = FileHandle{::open(path.c_str(), flags, 0644)};
  log.path_ = path;
  log.parallel_format_ = parallel_format;
  if (log.file_.fd() < 0) return file_error("--joblog", path, std::string{"cannot write: "} + std::strerror(errno));
  if (append) {
    int rd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    auto last = rd >= 0 ? last_byte(rd) : std::nullopt;
    if (rd >= 0) ::close(rd);
    if (last && *last != '\n') {
      if (int err = write_all(log.file_.fd(), "\n")) return file_error("--joblog", path, std::strerror(err));
      log.fenced_ = true;
    }
  }
  if (parallel_format) {
    if (int err = write_all(log.file_.fd(), parallel_joblog_header())) {
      return file_error("--joblog", path, std::strerror(err));
    }
  }
  return log;
}

Result<void> JobLogFile::write(const JobRecord& r) {
  if (int err = write_all(file_.fd(), parallel_format_ ? parallel_joblog_line(r) : joblog_line(r))) {
    return file_error("--joblog", path_, std::string{"write error: "} + std::strerror(err));
  }
  return {};
}

Result<OutputFile> OutputFile::open(const std::string& flag, const std::string& path) {
  OutputFile f;
  f.file_ = FileHandle{::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644)};
  f.flag_ = flag;
  f.path_ = path;
  if (f.file_.fd() < 0) return file_error(flag, path, std::string{"cannot write: "} + std::strerror(errno));
  return f;
}

Result<void> OutputFile::replace(std::string_view text) {
  struct stat st {};
  if (::fstat(file_.fd(), &st) == 0 && S_ISREG(st.st_mode)) {
    if (::ftruncate(file_.fd(), 0) != 0 || ::lseek(file_.fd(), 0, SEEK_SET) != 0) {
      return file_error(flag_, path_, std::string{"write error: "} + std::strerror(errno));
    }
  }
  if (int err = write_all(file_.fd(), text)) return file_error(flag_, path_, std::string{"write error: "} + std::strerror(err));
  return {};
}

Result<PastRuns> read_past_runs(const std::string& path) {
  PastRuns past;
  std::ifstream in{path};
  if (!in) {
    if (errno == ENOENT) return past;  // a first run
    return file_error("--resume", path, std::string{"cannot read the job log: "} + std::strerror(errno));
  }
  std::size_t records = 0, lines = 0;
  std::string first_problem;
  bool gnu_header = false;
  for (std::string text; std::getline(in, text);) {
    ++lines;
    past.torn_tail = in.eof();  // the last line ended without a newline
    if (text.empty()) continue;
    if (lines == 1 && text.rfind("Seq\tHost\tStarttime", 0) == 0) gnu_header = true;
    auto parsed = parse_joblog_line(text);
    if (!parsed.record) {
      ++past.unreadable;
      if (first_problem.empty()) first_problem = "line " + std::to_string(lines) + ": " + parsed.why;
      continue;
    }
    ++records;
    const JobRecord& r = *parsed.record;
    if (!r.final) continue;
    auto& o = past.last[r.id];
    if (o.start > r.start) continue;
    o.start = r.start;
    o.finished = r.stop != "halt" && r.stop != "interrupted" && r.stop != "deadline";
    o.success = r.success();
  }
  if (gnu_header) {
    return file_error("--resume", path,
                      "is GNU parallel's --joblog format; procctx batch resumes from its own (JSON lines, "
                      "--joblog-format json)");
  }
  bool only_a_torn_line = past.unreadable == 1 && past.torn_tail && lines == 1;
  if (records == 0 && past.unreadable > 0 && !only_a_torn_line) {
    return file_error("--resume", path, "is not a procctx job log (" + first_problem + "); refusing to append to it");
  }
  return past;
}

}  // namespace procctx::cli::batch
