#include "batch_template.hpp"

#include <algorithm>
#include <cctype>
#include <optional>

namespace procctx::cli::batch {

bool is_plain_word(std::string_view w) {
  if (w.empty()) return false;
  return std::all_of(w.begin(), w.end(), [](unsigned char c) {
    return std::isalnum(c) || std::string_view{"_-./=:,+@%^"}.find(static_cast<char>(c)) != std::string_view::npos;
  });
}

bool needs_shell(std::string_view w) {
  // Reserved words, and builtins of dash and bash that are not programs or
  // behave differently from the program of their name (echo, printf, test,
  // kill, pwd). true and false are the same either way.
  static constexpr std::string_view kWords[] = {
      "!",        "{",        "}",       "[[",      "]]",      "case",     "coproc",  "do",      "done",
      "elif",     "else",     "esac",    "fi",      "for",     "function", "if",      "in",      "select",
      "then",     "time",     "until",   "while",   ".",       ":",        "[",       "alias",   "bg",
      "bind",     "break",    "builtin", "caller",  "cd",      "command",  "compgen", "complete", "compopt",
      "continue", "declare",  "dirs",    "disown",  "echo",    "enable",   "eval",    "exec",    "exit",
      "export",   "fc",       "fg",      "getopts", "hash",    "help",     "history", "jobs",    "kill",
      "let",      "local",    "logout",  "mapfile", "popd",    "printf",   "pushd",   "pwd",     "read",
      "readarray", "readonly", "return", "set",     "shift",   "shopt",    "source",  "suspend", "test",
      "times",    "trap",     "type",    "typeset", "ulimit",  "umask",    "unalias", "unset",   "wait"};
  return std::find(std::begin(kWords), std::end(kWords), w) != std::end(kWords);
}

namespace {

std::string basename_of(std::string_view s) {
  auto slash = s.find_last_of('/');
  return std::string{slash == std::string_view::npos ? s : s.substr(slash + 1)};
}
std::string dirname_of(std::string_view s) {
  auto slash = s.find_last_of('/');
  if (slash == std::string_view::npos) return ".";
  if (slash == 0) return "/";
  return std::string{s.substr(0, slash)};
}
std::string without_ext(std::string_view s) {
  auto slash = s.find_last_of('/');
  auto dot = s.find_last_of('.');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash) || dot == 0 ||
      (slash != std::string_view::npos && dot == slash + 1)) {
    return std::string{s};
  }
  return std::string{s.substr(0, dot)};
}

// The value of one replacement string (what is between the braces), or
// nothing when `token` is not one. {%} is not a value here: see expand_word.
std::optional<std::string> token_value(std::string_view token, const std::vector<std::string>& values,
                                       std::size_t seq, bool quote) {
  auto q = [&](std::string s) { return quote ? shell_quote(s) : s; };
  const std::string first = values.empty() ? std::string{} : values[0];
  if (token.empty()) {
    std::string all;
    for (std::size_t k = 0; k < values.size(); ++k) {
      if (k) all += ' ';
      all += q(values[k]);
    }
    return all;
  }
  if (token == ".") return q(without_ext(first));
  if (token == "/") return q(basename_of(first));
  if (token == "//") return q(dirname_of(first));
  if (token == "/.") return q(without_ext(basename_of(first)));
  if (token == "#") return std::to_string(seq);
  if (token.size() <= 9 && std::all_of(token.begin(), token.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    std::size_t n = std::stoul(std::string{token});
    if (n >= 1 && n <= values.size()) return q(values[n - 1]);
  }
  return std::nullopt;
}

struct Word {
  std::string text;
  std::vector<std::size_t> slots;  // offsets of "{%}" in text
  bool replaced = false;           // held a replacement string
};

// One template word with its replacement strings applied, in one pass over
// the template's own bytes: what a value brings in is never looked at again.
Word expand_word(std::string_view word, const std::vector<std::string>& values, std::size_t seq, bool quote) {
  Word out;
  for (std::size_t i = 0; i < word.size();) {
    auto close = word[i] == '{' ? word.find('}', i) : std::string_view::npos;
    if (close != std::string_view::npos) {
      std::string_view token = word.substr(i + 1, close - i - 1);
      if (token == "%") {
        out.slots.push_back(out.text.size());
        out.text += "{%}";
        out.replaced = true;
        i = close + 1;
        continue;
      }
      if (auto v = token_value(token, values, seq, quote)) {
        out.text += *v;
        out.replaced = true;
        i = close + 1;
        continue;
      }
    }
    out.text += word[i++];
  }
  return out;
}

}  // namespace

Expansion expand(const std::vector<std::string>& tmpl, const std::vector<std::string>& values, std::size_t seq,
                 bool direct) {
  std::vector<Word> words;
  bool any = false;
  for (const auto& w : tmpl) {
    words.push_back(expand_word(w, values, seq, !direct));
    any = any || words.back().replaced;
  }
  Expansion x;
  if (direct) {
    for (std::size_t i = 0; i < words.size(); ++i) {
      for (std::size_t off : words[i].slots) x.slot_marks.push_back({i, off});
      x.argv.push_back(std::move(words[i].text));
    }
    if (!any) x.argv.insert(x.argv.end(), values.begin(), values.end());
    for (std::size_t i = 0; i < x.argv.size(); ++i) x.command += (i ? " " : "") + x.argv[i];
    return x;
  }
  std::string line;
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (i) line += ' ';
    for (std::size_t off : words[i].slots) x.slot_marks.push_back({2, line.size() + off});
    line += words[i].text;
  }
  if (!any) {
    for (const auto& v : values) {
      line += ' ';
      line += shell_quote(v);
    }
  }
  x.argv = {"/bin/sh", "-c", line};
  x.command = std::move(line);
  return x;
}

bool template_runs_directly(const std::vector<std::string>& tmpl, std::size_t sources) {
  if (tmpl.empty() || needs_shell(tmpl[0])) return false;
  const std::vector<std::string> probe_values(sources, "x");
  return std::all_of(tmpl.begin(), tmpl.end(), [&](const std::string& w) {
    std::string probe = expand_word(w, probe_values, 1, false).text;
    for (auto pos = probe.find("{%}"); pos != std::string::npos; pos = probe.find("{%}", pos)) {
      probe.erase(pos, 2);  // "{%}" -> "}" -> "1"
      probe[pos] = '1';
    }
    return is_plain_word(probe);
  });
}

}  // namespace procctx::cli::batch
