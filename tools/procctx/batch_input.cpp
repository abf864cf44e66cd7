#include "batch_input.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>

namespace procctx::cli::batch {

std::string shell_quote(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string identity_hash(const Job& job) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  auto mix = [&h](std::string_view s) {
    for (char ch : s) {
      auto c = static_cast<unsigned char>(ch);
      h ^= c;
      h *= 0x100000001b3ULL;
    }
    h ^= 0xff;  // a separator no string byte sequence can fake
    h *= 0x100000001b3ULL;
  };
  for (const auto& a : job.argv) mix(a);
  mix(job.cwd ? "cwd:" + *job.cwd : std::string{"cwd-"});
  for (const auto& [k, v] : job.env) mix("env:" + k + "=" + v);
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::size_t shard_of(std::string_view id, std::size_t n) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (char ch : id) {
    auto c = static_cast<unsigned char>(ch);
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return n == 0 ? 0 : static_cast<std::size_t>(h % n);
}

std::vector<std::string> with_slot(const std::vector<std::string>& argv, std::size_t slot) {
  std::vector<std::string> out = argv;
  const std::string token = "{%}";
  const std::string value = std::to_string(slot);
  for (auto& a : out) {
    for (auto pos = a.find(token); pos != std::string::npos; pos = a.find(token, pos + value.size())) {
      a.replace(pos, token.size(), value);
    }
  }
  return out;
}

namespace {

std::string trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return {};
  auto e = s.find_last_not_of(" \t\r");
  return std::string{s.substr(b, e - b + 1)};
}

Job shell_job(std::string line) {
  Job j;
  j.argv = {"/bin/sh", "-c", line};
  j.command = std::move(line);
  return j;
}

// A word that means the same to /bin/sh as it does to execve.
bool plain_word(std::string_view w) {
  if (w.empty()) return false;
  return std::all_of(w.begin(), w.end(), [](unsigned char c) {
    return std::isalnum(c) || std::string_view{"_-./=:,+@%^"}.find(static_cast<char>(c)) != std::string_view::npos;
  });
}

std::optional<std::string> parse_json_job(const std::string& text, Job& j) {
  nlohmann::json v;
  try {
    v = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    std::string what = e.what();
    auto colon = what.find("] ");
    return "bad JSON: " + (colon == std::string::npos ? what : what.substr(colon + 2));
  }
  if (!v.is_object()) return std::string{"expected a JSON object"};
  for (const auto& [key, value] : v.items()) {
    if (key == "argv") {
      if (!value.is_array()) return std::string{"\"argv\" must be an array of strings"};
      for (const auto& a : value) {
        if (!a.is_string()) return std::string{"\"argv\" must be an array of strings"};
        j.argv.push_back(a.get<std::string>());
      }
    } else if (key == "id") {
      if (!value.is_string() || value.get<std::string>().empty()) return std::string{"\"id\" must be a non-empty string"};
      j.id = value.get<std::string>();
    } else if (key == "cwd") {
      if (!value.is_string()) return std::string{"\"cwd\" must be a string"};
      j.cwd = value.get<std::string>();
    } else if (key == "env") {
      if (!value.is_object()) return std::string{"\"env\" must be an object of strings"};
      for (const auto& [k, val] : value.items()) {
        if (!val.is_string() || k.empty() || k.find('=') != std::string::npos) {
          return std::string{"\"env\" must map names (without '=') to strings"};
        }
        j.env.emplace_back(k, val.get<std::string>());
      }
    } else if (key == "timeout") {
      if (!value.is_string()) return std::string{"\"timeout\" must be a duration string such as \"5s\""};
      auto d = parse_duration(value.get<std::string>());
      if (!d) return "\"timeout\": " + d.error().message();
      j.timeout = *d;
    } else {
      return "unknown field \"" + key + "\" (known: argv, id, cwd, env, timeout)";
    }
  }
  if (j.argv.empty()) return std::string{"\"argv\" is missing or empty"};
  if (j.argv[0].empty()) return std::string{"\"argv\"[0] is empty"};
  for (std::size_t i = 0; i < j.argv.size(); ++i) {
    j.command += (i ? " " : "") + (plain_word(j.argv[i]) ? j.argv[i] : shell_quote(j.argv[i]));
  }
  return std::nullopt;
}

// Words /bin/sh runs itself, differently from (or without) a program of that name.
bool shell_builtin(std::string_view w) {
  static constexpr std::string_view kBuiltins[] = {
      ".",    "alias", "bg",   "break",  "cd",   "command", "continue", "echo",   "eval",  "exec",  "exit",
      "export", "fc",  "fg",   "getopts", "hash", "jobs",   "kill",     "local",  "printf", "pwd",  "read",
      "readonly", "return", "set", "shift", "test", "times", "trap",   "type",   "ulimit", "umask", "unalias",
      "unset", "wait", "["};
  return std::find(std::begin(kBuiltins), std::end(kBuiltins), w) != std::end(kBuiltins);
}

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

// Replaces the replacement strings in `word`; `quote` quotes each value
// for the shell. Returns whether any was found.
bool substitute(std::string& word, const std::vector<std::string>& values, std::size_t seq, bool quote) {
  std::string all;
  for (std::size_t i = 0; i < values.size(); ++i) all += (i ? " " : "") + values[i];
  const std::string& first = values.empty() ? all : values[0];
  auto q = [&](const std::string& s) { return quote ? shell_quote(s) : s; };
  bool found = false;
  std::string out;
  for (std::size_t i = 0; i < word.size();) {
    if (word[i] == '{') {
      auto close = word.find('}', i);
      if (close != std::string::npos) {
        std::string token = word.substr(i + 1, close - i - 1);
        std::optional<std::string> value;
        if (token.empty()) {
          value = quote ? [&] {
            std::string s;
            for (std::size_t k = 0; k < values.size(); ++k) s += (k ? " " : "") + shell_quote(values[k]);
            return s;
          }()
                        : all;
        } else if (token == ".") {
          value = q(without_ext(first));
        } else if (token == "/") {
          value = q(basename_of(first));
        } else if (token == "//") {
          value = q(dirname_of(first));
        } else if (token == "/.") {
          value = q(without_ext(basename_of(first)));
        } else if (token == "#") {
          value = std::to_string(seq);
        } else if (token == "%") {
          value = "{%}";  // the slot: filled in when the job starts
        } else if (!token.empty() && std::all_of(token.begin(), token.end(), [](char c) { return c >= '0' && c <= '9'; })) {
          std::size_t n = std::stoul(token);
          if (n >= 1 && n <= values.size()) value = q(values[n - 1]);
        }
        if (value) {
          out += *value;
          found = true;
          i = close + 1;
          continue;
        }
      }
    }
    out += word[i++];
  }
  word = std::move(out);
  return found;
}

}  // namespace

Input read_jobs(std::istream& in, bool jsonl) {
  Input input;
  std::string text;
  std::size_t line = 0;
  while (std::getline(in, text)) {
    ++line;
    std::string t = trim(text);
    if (t.empty() || (!jsonl && t[0] == '#')) continue;
    Job j;
    if (jsonl) {
      if (auto err = parse_json_job(t, j)) {
        input.errors.push_back({line, *err});
        continue;
      }
    } else {
      j = shell_job(t);
    }
    j.line = line;
    j.seq = input.jobs.size() + 1;
    if (j.id.empty()) j.id = identity_hash(j);
    input.jobs.push_back(std::move(j));
  }
  return input;
}

Input expand_template(const std::vector<std::string>& tmpl, const std::vector<std::vector<std::string>>& sources) {
  Input input;
  if (tmpl.empty()) {
    input.errors.push_back({0, "no command before :::"});
    return input;
  }
  for (const auto& s : sources) {
    if (s.empty()) return input;  // an empty source: the product is empty
  }
  // Does anything in the template need a shell?
  bool direct = !shell_builtin(tmpl[0]);
  for (const auto& w : tmpl) {
    std::string probe = w;
    substitute(probe, std::vector<std::string>(sources.size(), "x"), 1, false);
    for (auto pos = probe.find("{%}"); pos != std::string::npos; pos = probe.find("{%}")) probe.replace(pos, 3, "1");
    direct = direct && plain_word(probe);
  }
  std::vector<std::size_t> index(sources.size(), 0);
  for (std::size_t seq = 1;; ++seq) {
    std::vector<std::string> values;
    for (std::size_t s = 0; s < sources.size(); ++s) values.push_back(sources[s][index[s]]);
    Job j;
    j.seq = seq;
    j.args = values;
    std::vector<std::string> words = tmpl;
    bool any = false;
    for (auto& w : words) any = substitute(w, values, seq, !direct) || any;
    if (direct) {
      j.argv = words;
      if (!any) j.argv.insert(j.argv.end(), values.begin(), values.end());
      for (std::size_t i = 0; i < j.argv.size(); ++i) j.command += (i ? " " : "") + j.argv[i];
    } else {
      std::string line;
      for (std::size_t i = 0; i < words.size(); ++i) line += (i ? " " : "") + words[i];
      if (!any) {
        for (const auto& v : values) line += " " + shell_quote(v);
      }
      j.argv = {"/bin/sh", "-c", line};
      j.command = line;
    }
    j.id = identity_hash(j);
    input.jobs.push_back(std::move(j));
    // Next combination, the last source varying fastest.
    std::size_t s = sources.size();
    while (s > 0) {
      --s;
      if (++index[s] < sources[s].size()) break;
      index[s] = 0;
      if (s == 0) return input;
    }
    if (sources.empty()) return input;
  }
}

}  // namespace procctx::cli::batch
