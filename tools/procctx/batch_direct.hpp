// batch_direct.hpp — whether a shell line of plain words can run without
// /bin/sh. The words mean the same to both (batch_template.hpp checks that);
// what is left is what the shell does around exec: it finds the program on
// PATH (and says "not found" when it is not), and runs a file without #!
// through itself (Command::shell_fallback() does that too). So a line runs
// directly when its program is found: an executable regular file on PATH,
// or the path it names. The answer is kept per program name for the run.
#pragma once

#include <string>
#include <unordered_map>

namespace procctx::cli::batch {

class DirectPrograms {
 public:
  // The program's path when `word` may run without the shell, else "" (not found: the shell says so).
  const std::string& resolve(const std::string& word);

 private:
  std::unordered_map<std::string, std::string> known_;
};

}  // namespace procctx::cli::batch
