#include "batch_direct.hpp"

#include <cstdlib>
#include <cstring>
#include <string_view>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace procctx::cli::batch {
namespace {

// An executable regular file that the kernel runs by itself.
bool runs_by_itself(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || ::access(path.c_str(), X_OK) != 0) return false;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;  // executable but unreadable: let the shell try
  char magic[4] = {};
  ssize_t n = ::read(fd, magic, sizeof magic);
  ::close(fd);
  return (n >= 2 && magic[0] == '#' && magic[1] == '!') || (n == 4 && std::memcmp(magic, "\x7f" "ELF", 4) == 0);
}

// Where the shell would find `word`: itself when it holds a slash, else the
// first executable file of that name in a PATH directory ("" meaning the
// current directory), as execvp looks.
std::string find_program(const std::string& word) {
  if (word.find('/') != std::string::npos) return word;
  const char* path = std::getenv("PATH");
  std::string_view dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  for (std::size_t pos = 0; pos <= dirs.size();) {
    auto colon = dirs.find(':', pos);
    std::string_view dir = dirs.substr(pos, colon == std::string_view::npos ? std::string_view::npos : colon - pos);
    pos = colon == std::string_view::npos ? dirs.size() + 1 : colon + 1;
    std::string candidate = (dir.empty() ? std::string{"."} : std::string{dir}) + "/" + word;
    struct stat st {};
    if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return {};
}

}  // namespace

const std::string& DirectPrograms::resolve(const std::string& word) {
  auto it = known_.find(word);
  if (it != known_.end()) return it->second;
  std::string path = find_program(word);
  if (!path.empty() && !runs_by_itself(path)) path.clear();
  return known_.emplace(word, std::move(path)).first->second;
}

}  // namespace procctx::cli::batch
