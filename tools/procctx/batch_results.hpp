// batch_results.hpp — --results DIR: each job's stdout, stderr and
// meta.json in DIR/SEQ/. The directory may hold anything (an earlier run,
// or links someone planted): every file is created fresh relative to an
// open directory, never through a symbolic link and never into an existing
// file's inode. A symbolic link or anything else in the way is refused.
#pragma once

#include "batch_files.hpp"

#include <procctx/result.hpp>

#include <string>
#include <string_view>

namespace procctx::cli::batch {

class ResultsDir {
 public:
  // Makes DIR (and its parents) when missing and opens it.
  static Result<ResultsDir> open(const std::string& path);

  struct Files {
    FileHandle out, err;  // DIR/SEQ/stdout and stderr, opened for reading and writing
  };
  Result<Files> create(std::size_t seq);
  Result<void> write_meta(std::size_t seq, std::string_view text);

 private:
  Result<FileHandle> job_dir(std::size_t seq);
  Result<FileHandle> fresh_file(int dir, std::size_t seq, const char* name);

  FileHandle dir_;
  std::string path_;
};

}  // namespace procctx::cli::batch
