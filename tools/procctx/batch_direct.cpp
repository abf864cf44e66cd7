#include "batch_direct.hpp"

#include <cstdlib>
#include <string_view>

#include <sys/stat.h>
#include <unistd.h>

namespace procctx::cli::batch {
namespace {

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
  return known_.emplace(word, find_program(word)).first->second;
}

}  // namespace procctx::cli::batch
