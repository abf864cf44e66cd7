#include "batch_results.hpp"

#include "batch_text.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace procctx::cli::batch {
namespace {

Error in_the_way(const std::string& path, const std::string& what) { return file_error("--results", path, what); }

}  // namespace

Result<ResultsDir> ResultsDir::open(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) return in_the_way(path, "cannot make the directory: " + ec.message());
  ResultsDir r;
  r.dir_ = FileHandle{::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  r.path_ = path;
  if (r.dir_.fd() < 0) return in_the_way(path, std::strerror(errno));
  if (::faccessat(r.dir_.fd(), ".", W_OK, AT_EACCESS) != 0) return in_the_way(path, std::strerror(errno));
  return r;
}

Result<FileHandle> ResultsDir::job_dir(std::size_t seq) {
  std::string name = std::to_string(seq), shown = path_ + "/" + name;
  if (::mkdirat(dir_.fd(), name.c_str(), 0755) != 0 && errno != EEXIST) {
    return in_the_way(shown, std::string{"cannot make the directory: "} + std::strerror(errno));
  }
  FileHandle d{::openat(dir_.fd(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)};
  if (d.fd() >= 0) return d;
  int err = errno;
  struct stat st {};
  if (::fstatat(dir_.fd(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
    return in_the_way(shown, "is a symbolic link; refusing to follow it");
  }
  return in_the_way(shown, err == ENOTDIR ? "is in the way (not a directory)" : std::strerror(err));
}

Result<FileHandle> ResultsDir::fresh_file(int dir, std::size_t seq, const char* name) {
  std::string shown = path_ + "/" + std::to_string(seq) + "/" + name;
  struct stat st {};
  if (::fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (S_ISLNK(st.st_mode)) return in_the_way(shown, "is a symbolic link; refusing to write through it");
    if (!S_ISREG(st.st_mode)) return in_the_way(shown, "is in the way (not a regular file)");
    // An earlier run's file: a new one takes its name, so whatever else
    // shares its inode (a hard link) is left alone.
    if (::unlinkat(dir, name, 0) != 0) return in_the_way(shown, std::strerror(errno));
  }
  FileHandle f{::openat(dir, name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644)};
  if (f.fd() < 0) return in_the_way(shown, std::strerror(errno));
  return f;
}

Result<ResultsDir::Files> ResultsDir::create(std::size_t seq) {
  auto dir = job_dir(seq);
  if (!dir) return dir.error();
  auto out = fresh_file(dir->fd(), seq, "stdout");
  if (!out) return out.error();
  auto err = fresh_file(dir->fd(), seq, "stderr");
  if (!err) return err.error();
  return Files{std::move(*out), std::move(*err)};
}

Result<void> ResultsDir::write_meta(std::size_t seq, std::string_view text) {
  auto dir = job_dir(seq);
  if (!dir) return dir.error();
  auto meta = fresh_file(dir->fd(), seq, "meta.json");
  if (!meta) return meta.error();
  if (int err = write_all(meta->fd(), text)) {
    return in_the_way(path_ + "/" + std::to_string(seq) + "/meta.json", std::string{"write error: "} + std::strerror(err));
  }
  return {};
}

}  // namespace procctx::cli::batch
