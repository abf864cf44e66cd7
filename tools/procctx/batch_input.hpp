// batch_input.hpp — the jobs of `procctx batch`: lines of shell commands,
// JSON lines, or a command template with ::: argument lists.
//
// A JobList keeps the input compactly (the text of each line, or for a
// template only the argument lists) and makes a whole Job when it is about
// to run, so a list of 100,000 jobs costs little more than its bytes.
// Every job has a stable identity for --resume and --shard: an explicit
// "id", or a hash of what it runs, numbered when the same command appears
// again ("…-2" for the second), so repeated lines stay distinct jobs and
// keep their identities when other lines move.
#pragma once

#include <procctx/procctx.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace procctx::cli::batch {

// Where the template's {%} (the job slot, known only at start) goes:
// argv[word], at byte `offset`, the three bytes "{%}".
struct SlotMark {
  std::size_t word = 0, offset = 0;
};

struct Job {
  std::size_t seq = 0;                 // 1-based position in the input (malformed lines count)
  std::string id;                      // explicit ("id" in JSON lines) or the identity hash
  std::vector<std::string> argv;       // what runs: ["/bin/sh", "-c", line] for a shell job
  std::vector<std::string> words;      // a shell line of plain words, which may run without the shell
  std::string command;                 // as shown in logs and tags
  std::vector<std::string> args;       // the ::: arguments it was made from (for --tag)
  std::optional<std::string> cwd;
  std::vector<std::pair<std::string, std::string>> env;
  std::optional<Duration> timeout;
  std::size_t line = 0;                // input line (0 for ::: jobs)
  std::vector<SlotMark> slot_marks;
};

// Puts the slot number where the template said {%}.
void apply_slot(Job& job, std::size_t slot);

struct InputError {
  std::size_t line = 0;  // 0: not tied to a line
  std::string message;
};

class JobList {
 public:
  JobList() = default;

  std::size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  // The i-th job (0-based, in input order), made now.
  Job job(std::size_t i) const;
  std::size_t seq(std::size_t i) const { return entries_[i].seq; }
  std::string id(std::size_t i) const;
  // The highest seq given (malformed lines included).
  std::size_t last_seq() const { return last_seq_; }

  // Keeps the jobs whose identity `keep` accepts (--resume, --shard).
  void keep_if(const std::function<bool(const std::string& id)>& keep);

  // Malformed lines, each counted as a failed job.
  const std::vector<InputError>& errors() const { return errors_; }

  // One shell command per line (blank lines and # comments skipped), or
  // with `jsonl` one JSON object per line:
  // {"argv": [...], "id": "...", "cwd": "...", "env": {"K": "V"}, "timeout": "5s"}.
  static JobList from_lines(std::string_view text, bool jsonl);
  // The GNU parallel form: template words (with replacement strings) and
  // argument sources (each the values of one ::: or :::: group); several
  // sources give their cartesian product, the first varying slowest. The
  // replacement strings are {} {.} {/} {//} {/.} {#} {%} and {N} for the
  // N-th source; without any, the arguments are appended. Only the
  // template is expanded, never a value. When the template needs a shell the
  // job runs with /bin/sh -c and the values are quoted for it.
  static JobList from_template(std::vector<std::string> tmpl, std::vector<std::vector<std::string>> sources);

 private:
  enum class Kind { shell, json, tmpl };
  struct Entry {
    std::uint64_t seq = 0;
    std::uint64_t ref = 0;     // shell, json: offset of the line in text_; tmpl: the combination number
    std::uint32_t len = 0;     // shell, json: the line's length
    std::uint32_t repeat = 1;  // 1 for the first job with this identity, 2 for the next...
    std::uint64_t hash = 0;    // identity_hash()
    std::uint64_t id_ref = 0;  // an explicit id: offset in ids_
    std::uint32_t id_len = 0;  // 0: no explicit id
    std::uint32_t line = 0;
  };
  struct Builder;
  Job make(const Entry& e) const;
  Job make_template(const Entry& e) const;

  Kind kind_ = Kind::shell;
  std::string text_;  // the lines' bytes
  std::string ids_;   // explicit ids' bytes
  std::vector<Entry> entries_;
  std::vector<InputError> errors_;
  std::size_t last_seq_ = 0;
  std::vector<std::string> tmpl_;
  std::vector<std::vector<std::string>> sources_;
  bool direct_ = false;  // the template runs without a shell
};

// 'text' quoted for /bin/sh (single quotes; a quote as '\'').
std::string shell_quote(std::string_view text);

// A stable identity: a 64-bit FNV-1a over argv, cwd and env.
std::uint64_t identity_hash(const Job& job);
// As written in logs: 16 hex digits, then "-K" for the K-th repeat (K ≥ 2).
std::string identity_text(std::uint64_t hash, std::uint32_t repeat);

// The words of a shell line that /bin/sh would run as a plain command —
// words of letters, digits and _-./=:,+@%^ only, the first neither an
// assignment, a reserved word nor a builtin that differs from the program
// of its name — or nothing when the line needs the shell.
std::vector<std::string> plain_words(std::string_view line);

}  // namespace procctx::cli::batch
