// batch_direct.hpp — whether a shell line of plain words can run without
// /bin/sh. The words mean the same to both (batch_template.hpp checks that);
// what is left is what the shell does around exec: it finds the program on
// PATH, and runs a file without #! through itself. So a line runs directly
// only when its program is found, is executable, and starts with #! or is an
// ELF binary; anything else (not found, not executable, a script without #!)
// goes to the shell, whose answer (127, 126, running the script) is the one
// a user expects. The answer is kept per program name for the whole run.
#pragma once

#include <string>
#include <unordered_map>

namespace procctx::cli::batch {

class DirectPrograms {
 public:
  // The program's path when `word` may run without the shell, else "".
  const std::string& resolve(const std::string& word);

 private:
  std::unordered_map<std::string, std::string> known_;
};

}  // namespace procctx::cli::batch
