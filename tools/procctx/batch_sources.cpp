#include "batch_sources.hpp"

#include "batch_text.hpp"

#include <procctx/command.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace procctx::cli::batch {
namespace {

Error input_error(std::string message) {
  return Error{make_error_code(errc::invalid_argument), std::move(message)};
}

// Everything `path` holds ("-": standard input); `what` names it in errors.
Result<std::string> read_whole(const std::string& path, const std::string& what) {
  bool from_stdin = path == "-";
  int fd = from_stdin ? STDIN_FILENO : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  std::string name = from_stdin ? std::string{"standard input"} : quote(path);
  if (fd < 0) return input_error("cannot read " + what + " from " + name + ": " + std::strerror(errno));
  struct stat st {};
  int err = ::fstat(fd, &st) != 0 ? errno : S_ISDIR(st.st_mode) ? EISDIR : 0;
  std::string text;
  char buf[65536];
  while (err == 0) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) err = errno;
    if (n <= 0) break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  if (!from_stdin) ::close(fd);
  if (err != 0) return input_error("cannot read " + what + " from " + name + ": " + std::strerror(err));
  return text;
}

// The values of a :::: FILE: one per line.
Result<std::vector<std::string>> values_from_file(const std::string& path) {
  auto text = read_whole(path, "the arguments of ::::");
  if (!text) return text.error();
  std::vector<std::string> values;
  std::size_t line = 0;
  for (std::size_t pos = 0; pos < text->size();) {
    auto nl = text->find('\n', pos);
    std::string value = text->substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? text->size() : nl + 1;
    ++line;
    if (value.find('\0') != std::string::npos) {
      return input_error(":::: " + quote(path) + ": line " + std::to_string(line) +
                         " holds a NUL byte, which no argument can");
    }
    values.push_back(std::move(value));
  }
  return values;
}

bool is_separator(const std::string& s) { return s == ":::" || s == "::::"; }

Result<JobList> from_template(const std::vector<std::string>& ops) {
  auto first = std::find_if(ops.begin(), ops.end(), is_separator);
  std::vector<std::string> tmpl{ops.begin(), first};
  std::vector<std::vector<std::string>> sources;
  for (auto it = first; it != ops.end();) {
    bool from_file = *it == "::::";
    ++it;
    auto end = std::find_if(it, ops.end(), is_separator);
    if (from_file && it == end) return input_error(":::: needs a FILE (or - for standard input) after it");
    std::vector<std::string> values;
    for (; it != end; ++it) {
      if (!from_file) {
        values.push_back(*it);
        continue;
      }
      auto more = values_from_file(*it);
      if (!more) return more.error();
      values.insert(values.end(), more->begin(), more->end());
    }
    sources.push_back(std::move(values));
  }
  return JobList::from_template(std::move(tmpl), std::move(sources));
}

}  // namespace

Result<JobList> job_list_from(const std::vector<std::string>& ops, bool jsonl) {
  if (std::any_of(ops.begin(), ops.end(), is_separator)) {
    if (jsonl) return input_error("--jsonl reads JSON lines from a FILE; a command template takes ::: ARG... instead");
    return from_template(ops);
  }
  if (ops.size() > 1) {
    return input_error("one input FILE at most (a command to run needs ::: ARG... after it)");
  }
  std::string path = ops.empty() ? "-" : ops[0];
  struct stat st {};
  if (path != "-" && ::stat(path.c_str(), &st) != 0 && errno == ENOENT) {
    return input_error("cannot read the job list from " + quote(path) +
                       ": no such file (a command to run needs ::: ARG... after it)");
  }
  auto text = read_whole(path, "the job list");
  if (!text) return text.error();
  return JobList::from_lines(*text, jsonl);
}

}  // namespace procctx::cli::batch
