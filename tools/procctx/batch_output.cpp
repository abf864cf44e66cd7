#include "batch_output.hpp"

#include "batch_text.hpp"

#include <procctx/command.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

namespace procctx::cli::batch {
namespace {

off_t size_of(int fd) {
  struct stat st {};
  return fd >= 0 && ::fstat(fd, &st) == 0 ? st.st_size : 0;
}

// An unlinked file in `dir`: nothing is left behind whatever happens to procctx.
int unlinked_file(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0 || errno == EMFILE || errno == ENFILE) return fd;
  std::string path = dir + "/procctx-batch-XXXXXX";
  fd = ::mkostemp(path.data(), O_CLOEXEC);
  if (fd >= 0) ::unlink(path.c_str());
  return fd;
}

Error os_error(int err, std::string what) {
  return Error{std::error_code{err, std::system_category()}, what + ": " + std::strerror(err)};
}

// Copies [offset, offset+length) of `from` to the end of `to` (at *at).
int copy_range(int from, off_t offset, off_t length, int to, off_t* at) {
  off_t in = offset, end = offset + length;
  while (in < end) {
    ssize_t n = ::copy_file_range(from, &in, to, at, static_cast<std::size_t>(end - in), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n > 0) continue;
    if (n == 0) return EIO;
    if (errno != EXDEV && errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP) return errno;
    char buf[65536];  // the kernel cannot copy between these: by hand
    while (in < end) {
      ssize_t r = ::pread(from, buf, static_cast<std::size_t>(std::min<off_t>(end - in, sizeof buf)), in);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return r < 0 ? errno : EIO;
      for (ssize_t done = 0; done < r;) {
        ssize_t w = ::pwrite(to, buf + done, static_cast<std::size_t>(r - done), *at);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return w < 0 ? errno : EIO;
        done += w;
        *at += w;
      }
      in += r;
    }
  }
  return 0;
}

}  // namespace

// --- Sink --------------------------------------------------------------------

Sink::Sink(int fd, std::string name) : fd_(fd) { loss_.stream = std::move(name); }

bool Sink::failed(int err, std::uint64_t bytes) {
  if (error_ == 0) error_ = err;
  loss_.bytes += bytes;
  return false;
}

void Sink::relay_failed(int err, std::uint64_t bytes) {
  if (err == 0 && bytes == 0) return;
  failed(err != 0 ? err : EIO, bytes);
  ++loss_.jobs;
}

bool Sink::write(std::string_view bytes) {
  if (bytes.empty()) return true;
  if (error_ != 0) return failed(error_, bytes.size());
  while (!bytes.empty()) {
    ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return failed(n < 0 ? errno : EIO, bytes.size());
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool Sink::copy(int file, off_t offset, off_t length, const std::string& tag) {
  if (length <= 0) return true;
  if (error_ != 0) return failed(error_, static_cast<std::uint64_t>(length));
  if (!tag.empty()) return copy_tagged(file, offset, length, tag);
  off_t at = offset, end = offset + length;
  while (at < end) {
    ssize_t n = ::sendfile(fd_, file, &at, static_cast<std::size_t>(end - at));
    if (n < 0 && errno == EINTR) continue;
    if (n > 0) continue;
    if (n < 0 && (errno == EINVAL || errno == ENOSYS)) return copy_tagged(file, at, end - at, tag);  // by hand
    return failed(n < 0 ? errno : EIO, static_cast<std::uint64_t>(end - at));
  }
  return true;
}

bool Sink::copy_tagged(int file, off_t offset, off_t length, const std::string& tag) {
  char buf[65536];
  bool at_line_start = true;
  for (off_t at = offset, end = offset + length; at < end;) {
    ssize_t n = ::pread(file, buf, static_cast<std::size_t>(std::min<off_t>(end - at, sizeof buf)), at);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return failed(n < 0 ? errno : EIO, static_cast<std::uint64_t>(end - at));
    at += n;
    std::string chunk;
    for (ssize_t i = 0; i < n; ++i) {
      if (at_line_start) chunk += tag;
      chunk += buf[i];
      at_line_start = buf[i] == '\n';
    }
    if (!write(chunk)) return false;
  }
  return tag.empty() || at_line_start || write("\n");
}

std::optional<WriteLoss> Sink::loss() const {
  if (loss_.bytes == 0 || error_ == EPIPE) return std::nullopt;
  WriteLoss l = loss_;
  l.error = std::strerror(error_);
  return l;
}

// --- FilePool ------------------------------------------------------------------

FilePool::FilePool(std::string dir)
    : dir_(std::move(dir)), proc_fds_(::open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) {
  if (proc_fds_.fd() < 0) recycle_ = false;  // no /proc: every job gets files of its own
}

Result<FileHandle> FilePool::child_end(int file) {
  if (!recycle_) return FileHandle{};
  FileHandle h{::openat(proc_fds_.fd(), std::to_string(file).c_str(), O_WRONLY | O_CLOEXEC)};
  if (h.fd() >= 0) return h;
  if (errno == EMFILE || errno == ENFILE) return os_error(errno, "a file for a job's output");
  recycle_ = false;
  return FileHandle{};
}

Result<FilePool::Pair> FilePool::take() {
  {
    std::lock_guard lock{mu_};
    if (!free_.empty()) {
      Pair p = std::move(free_.back());
      free_.pop_back();
      return p;
    }
  }
  Pair p{FileHandle{unlinked_file(dir_)}, FileHandle{unlinked_file(dir_)}, {}, {}};
  if (p.out.fd() < 0 || p.err.fd() < 0) return os_error(errno, "a temporary file in " + quote(dir_));
  auto o = child_end(p.out.fd());
  if (!o) return o.error();
  auto e = child_end(p.err.fd());
  if (!e) return e.error();
  p.child_out = std::move(*o);
  p.child_err = std::move(*e);
  return p;
}

bool FilePool::free_of_holders(int fd) {
  // A write lease is granted only when no other description of the file is open.
  if (::fcntl(fd, F_SETLEASE, F_WRLCK) == 0) {
    ::fcntl(fd, F_SETLEASE, F_UNLCK);
    return true;
  }
  if (errno != EAGAIN && errno != EBUSY) recycle_ = false;  // leases unsupported here
  return false;
}

void FilePool::give_back(Pair p, off_t out_size, off_t err_size) {
  p.child_out = FileHandle{};
  p.child_err = FileHandle{};
  if (!recycle_ || !free_of_holders(p.out.fd()) || !free_of_holders(p.err.fd())) return;  // closed
  for (auto [fd, size] : {std::pair{p.out.fd(), out_size}, std::pair{p.err.fd(), err_size}}) {
    if ((size < 0 ? size_of(fd) : size) > 0 && ::ftruncate(fd, 0) != 0) return;
  }
  auto o = child_end(p.out.fd());
  auto e = o ? child_end(p.err.fd()) : Result<FileHandle>{o.error()};
  if (!o || !e || o->fd() < 0 || e->fd() < 0) return;
  p.child_out = std::move(*o);
  p.child_err = std::move(*e);
  std::lock_guard lock{mu_};
  free_.push_back(std::move(p));
}

// --- Spool -----------------------------------------------------------------------

Result<Spool::Piece> Spool::keep(int file, off_t length) {
  ++pieces_;
  if (length == 0) return Piece{end_, 0};
  --pieces_;
  if (file_.fd() < 0) {
    file_ = FileHandle{unlinked_file(dir_)};
    if (file_.fd() < 0) return os_error(errno, "the --keep-order spool in " + quote(dir_));
  }
  Piece p{end_, length};
  off_t at = end_;
  if (int err = copy_range(file, 0, length, file_.fd(), &at)) {
    return os_error(err, "the --keep-order spool in " + quote(dir_));
  }
  end_ = at;
  ++pieces_;
  return p;
}

void Spool::release(Piece p) {
  if (--pieces_ == 0) {
    end_ = 0;
    (void)!::ftruncate(file_.fd(), 0);
    return;
  }
  // Only the whole pages inside the piece. sendfile() to a pipe hands the
  // reader the file's own pages; punching part of a page zeroes it in place,
  // under the reader's eyes, while a whole page is only dropped from the file.
  const off_t page = ::sysconf(_SC_PAGESIZE);
  off_t from = (p.offset + page - 1) / page * page, to = (p.offset + p.length) / page * page;
  if (to > from) (void)!::fallocate(file_.fd(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, from, to - from);
}

// --- Printer -----------------------------------------------------------------------

void Printer::print(Waiting& w) {
  for (auto [sink, file, piece] : {std::tuple{&out_, w.output.out.fd(), w.out}, std::tuple{&err_, w.output.err.fd(), w.err}}) {
    auto before = sink->lost_bytes();
    if (w.spooled) {
      sink->copy(spool_.fd(), piece.offset, piece.length, w.tag);
    } else {
      off_t known = sink == &out_ ? w.output.out_size : w.output.err_size;
      sink->copy(file, 0, known >= 0 ? known : size_of(file), w.tag);
    }
    if (sink->lost_bytes() > before) sink->count_lost_job();
  }
  err_.write(w.note);
  if (w.spooled) {
    spool_.release(w.out);
    spool_.release(w.err);
  } else {
    done_with_(std::move(w.output));
  }
}

void Printer::finished(JobOutput o, bool last) {
  Waiting w;
  w.tag = o.tag;
  w.note = o.note;
  std::size_t index = o.index;
  bool in_turn = !keep_order_ || !last || index == next_;
  if (!in_turn) {
    auto out = spool_.keep(o.out.fd(), o.out_size >= 0 ? o.out_size : size_of(o.out.fd()));
    auto err = out ? spool_.keep(o.err.fd(), o.err_size >= 0 ? o.err_size : size_of(o.err.fd()))
                   : Result<Spool::Piece>{out.error()};
    if (out && err) {
      w.out = *out;
      w.err = *err;
      w.spooled = true;
      done_with_(std::move(o));
    } else {
      if (out) spool_.release(*out);
      w.output = std::move(o);  // keeps its files open until its turn
    }
    waiting_.emplace(index, std::move(w));
    return;
  }
  w.output = std::move(o);
  print(w);
  if (keep_order_ && last) {
    ++next_;
    advance();
  }
}

void Printer::advance() {
  for (auto it = waiting_.find(next_); it != waiting_.end(); it = waiting_.find(++next_)) {
    print(it->second);
    waiting_.erase(it);
  }
}

void Printer::flush() {
  for (auto& [index, w] : waiting_) print(w);
  waiting_.clear();
}

}  // namespace procctx::cli::batch
