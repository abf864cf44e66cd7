// batch_template.hpp — GNU parallel's replacement strings, applied to a
// command template and to nothing else: {} {.} {/} {//} {/.} {#} {%} {N}.
// A value is data: it is inserted as it is (or quoted for the shell), never
// expanded again. {%}, the slot, is known only when the job starts; it is
// left as "{%}" with a SlotMark saying where.
#pragma once

#include "batch_input.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace procctx::cli::batch {

struct Expansion {
  std::vector<std::string> argv;
  std::string command;
  std::vector<SlotMark> slot_marks;
};

// The job for one combination of `values` (one per source). `direct`: argv
// is the template's words; otherwise ["/bin/sh", "-c", line] with the values
// quoted in the line.
Expansion expand(const std::vector<std::string>& tmpl, const std::vector<std::string>& values, std::size_t seq,
                 bool direct);

// Whether the template, whatever the values, means the same to execve as to
// /bin/sh: plain words, and a first word the shell does not run itself.
bool template_runs_directly(const std::vector<std::string>& tmpl, std::size_t sources);

// A word of letters, digits and _-./=:,+@%^ only: the same to /bin/sh as to execve.
bool is_plain_word(std::string_view w);

// A reserved word, or a builtin the shell runs itself, differently from (or
// without) a program of that name.
bool needs_shell(std::string_view first_word);

}  // namespace procctx::cli::batch
