// libFuzzer target: batch::JobList::from_template. The input is split on NUL into
// template words, a "\x01" separating the template from ::: sources and
// "\x02" starting each further source.
#include "batch_input.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::string> tmpl;
  std::vector<std::vector<std::string>> sources;
  std::vector<std::string>* into = &tmpl;
  std::string word;
  std::size_t total = 1;
  auto flush = [&] {
    into->push_back(word);
    word.clear();
  };
  for (std::size_t i = 0; i < size; ++i) {
    char c = static_cast<char>(data[i]);
    if (c == '\0') {
      flush();
    } else if (c == '\x01' || c == '\x02') {
      flush();
      sources.emplace_back();
      into = &sources.back();
    } else {
      word.push_back(c);
    }
  }
  flush();
  // The cartesian product is the point of several sources, but it must stay
  // small enough to be worth fuzzing.
  for (const auto& s : sources) total *= s.empty() ? 1 : s.size();
  if (total > 4096) return 0;
  auto list = procctx::cli::batch::JobList::from_template(tmpl, sources);
  for (std::size_t i = 0; i < list.size(); ++i) {
    auto job = list.job(i);
    procctx::cli::batch::apply_slot(job, 12);
    (void)procctx::cli::batch::shell_quote(job.command);
  }
  return 0;
}
