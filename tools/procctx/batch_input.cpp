#include "batch_input.hpp"

#include "batch_template.hpp"
#include "batch_text.hpp"
#include "json_text.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <unordered_map>

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

std::uint64_t identity_hash(const Job& job) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  auto mix = [&h](std::string_view s) {
    for (char ch : s) {
      h ^= static_cast<unsigned char>(ch);
      h *= 0x100000001b3ULL;
    }
    h ^= 0xff;  // a separator no string byte sequence can fake
    h *= 0x100000001b3ULL;
  };
  for (const auto& a : job.argv) mix(a);
  mix(job.cwd ? "cwd:" + *job.cwd : std::string{"cwd-"});
  for (const auto& [k, v] : job.env) mix("env:" + k + "=" + v);
  return h;
}

std::string identity_text(std::uint64_t hash, std::uint32_t repeat) {
  char buf[40];
  if (repeat > 1) {
    std::snprintf(buf, sizeof buf, "%016llx-%u", static_cast<unsigned long long>(hash), repeat);
  } else {
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(hash));
  }
  return buf;
}

void apply_slot(Job& job, std::size_t slot) {
  if (job.slot_marks.empty()) return;
  const std::string value = std::to_string(slot);
  // From the last mark back, so the earlier offsets stay right.
  for (auto it = job.slot_marks.rbegin(); it != job.slot_marks.rend(); ++it) {
    job.argv.at(it->word).replace(it->offset, 3, value);
  }
  job.slot_marks.clear();
  job.command.clear();
  if (job.argv.size() == 3 && job.argv[0] == "/bin/sh" && job.argv[1] == "-c") {
    job.command = job.argv[2];
  } else {
    for (std::size_t i = 0; i < job.argv.size(); ++i) job.command += (i ? " " : "") + job.argv[i];
  }
}

namespace {

std::string_view trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return {};
  auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

const char* nul_in_json(const Job& j) {
  auto has_nul = [](const std::string& s) { return s.find('\0') != std::string::npos; };
  if (std::any_of(j.argv.begin(), j.argv.end(), has_nul)) return "\"argv\"";
  for (const auto& [k, v] : j.env) {
    if (has_nul(k) || has_nul(v)) return "\"env\"";
  }
  if (j.cwd && has_nul(*j.cwd)) return "\"cwd\"";
  return nullptr;
}

std::optional<std::string> json_field(const std::string& key, const nlohmann::json& value, Job& j) {
  if (key == "argv") {
    if (!value.is_array()) return "\"argv\" must be an array of strings";
    for (const auto& a : value) {
      if (!a.is_string()) return "\"argv\" must be an array of strings";
      j.argv.push_back(a.get<std::string>());
    }
  } else if (key == "id") {
    if (!value.is_string() || value.get<std::string>().empty()) return "\"id\" must be a non-empty string";
    j.id = value.get<std::string>();
  } else if (key == "cwd") {
    if (!value.is_string()) return "\"cwd\" must be a string";
    j.cwd = value.get<std::string>();
  } else if (key == "env") {
    if (!value.is_object()) return "\"env\" must be an object of strings";
    for (const auto& [k, val] : value.items()) {
      if (!val.is_string() || k.empty() || k.find('=') != std::string::npos) {
        return "\"env\" must map names (without '=') to strings";
      }
      j.env.emplace_back(k, val.get<std::string>());
    }
  } else if (key == "timeout") {
    if (!value.is_string()) return "\"timeout\" must be a duration string such as \"5s\"";
    auto d = parse_duration(value.get<std::string>());
    if (!d) return "\"timeout\" " + quote(value.get<std::string>()) + " is not a duration such as \"5s\"";
    j.timeout = *d;
  } else {
    // The key as JSON writes it: quoted, and any control character escaped.
    return "unknown field " + json_text(nlohmann::json(key)) + " (known: argv, id, cwd, env, timeout)";
  }
  return std::nullopt;
}

// Fills `j` from one JSON line; the error says what is wrong with it.
std::optional<std::string> parse_json_job(std::string_view text, Job& j) {
  nlohmann::json v;
  try {
    v = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {  // a syntax error, or a number out of range
    std::string what = e.what();
    auto colon = what.find("] ");
    return "bad JSON: " + (colon == std::string::npos ? what : what.substr(colon + 2));
  }
  if (!v.is_object()) return std::string{"expected a JSON object"};
  for (const auto& [key, value] : v.items()) {
    if (auto err = json_field(key, value, j)) return err;
  }
  if (j.argv.empty()) return std::string{"\"argv\" is missing or empty"};
  if (j.argv[0].empty()) return std::string{"\"argv\"[0] is empty"};
  if (const char* where = nul_in_json(j)) {
    return std::string{where} + " holds a NUL byte (\\u0000), which no command line, environment or path can";
  }
  for (std::size_t i = 0; i < j.argv.size(); ++i) {
    j.command += (i ? " " : "") + (is_plain_word(j.argv[i]) ? j.argv[i] : shell_quote(j.argv[i]));
  }
  return std::nullopt;
}

Job shell_job(std::string_view line) {
  Job j;
  j.argv = {"/bin/sh", "-c", std::string{line}};
  j.command = std::string{line};
  j.words = plain_words(line);
  return j;
}

}  // namespace

std::vector<std::string> plain_words(std::string_view line) {
  std::vector<std::string> words;
  for (std::size_t i = 0; i < line.size();) {
    if (line[i] == ' ' || line[i] == '\t') {
      ++i;
      continue;
    }
    auto end = line.find_first_of(" \t", i);
    if (end == std::string_view::npos) end = line.size();
    words.emplace_back(line.substr(i, end - i));
    if (!is_plain_word(words.back())) return {};
    i = end;
  }
  if (words.empty() || words[0].find('=') != std::string::npos || needs_shell(words[0])) return {};
  return words;
}

// Collects entries while reading, numbering repeated identities.
struct JobList::Builder {
  JobList& list;
  std::unordered_map<std::uint64_t, std::uint32_t> repeats;
  std::unordered_map<std::string, std::size_t> explicit_ids;  // id → its line

  void add(Entry e, const Job& j) {
    if (!j.id.empty()) {
      auto [it, fresh] = explicit_ids.emplace(j.id, e.line);
      if (!fresh) {
        list.errors_.push_back({e.line, "\"id\" " + quote(j.id) + " is already the id of line " +
                                            std::to_string(it->second)});
        return;
      }
      e.id_ref = list.ids_.size();
      e.id_len = static_cast<std::uint32_t>(j.id.size());
      list.ids_ += j.id;
    }
    e.hash = identity_hash(j);
    if (j.id.empty()) e.repeat = ++repeats[e.hash];
    list.entries_.push_back(e);
  }
};

JobList JobList::from_lines(std::string_view text, bool jsonl) {
  JobList list;
  list.kind_ = jsonl ? Kind::json : Kind::shell;
  Builder b{list, {}, {}};
  std::size_t line = 0, seq = 0;
  for (std::size_t pos = 0; pos < text.size();) {
    auto nl = text.find('\n', pos);
    std::string_view raw = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line;
    std::string_view t = trim(raw);
    if (t.empty() || (!jsonl && t[0] == '#')) continue;
    ++seq;
    Job j;
    std::optional<std::string> err;
    if (jsonl) {
      err = parse_json_job(t, j);
    } else if (t.find('\0') != std::string_view::npos) {
      err = "the line holds a NUL byte, which no command line can";
    } else {
      j = shell_job(t);
    }
    if (err) {
      list.errors_.push_back({line, *err});
      continue;
    }
    Entry e;
    e.seq = seq;
    e.ref = list.text_.size();
    e.len = static_cast<std::uint32_t>(t.size());
    e.line = static_cast<std::uint32_t>(line);
    list.text_.append(t);
    b.add(e, j);
  }
  list.last_seq_ = seq;
  return list;
}

JobList JobList::from_template(std::vector<std::string> tmpl, std::vector<std::vector<std::string>> sources) {
  JobList list;
  list.kind_ = Kind::tmpl;
  if (tmpl.empty()) {
    list.errors_.push_back({0, "no command before :::"});
    return list;
  }
  std::uint64_t combinations = 1;
  for (const auto& s : sources) combinations *= s.size();  // an empty source: the product is empty
  list.direct_ = template_runs_directly(tmpl, sources.size());
  list.tmpl_ = std::move(tmpl);
  list.sources_ = std::move(sources);
  Builder b{list, {}, {}};
  for (std::uint64_t k = 0; k < combinations; ++k) {
    Entry e;
    e.seq = k + 1;
    e.ref = k;
    b.add(e, list.make_template(e));
  }
  list.last_seq_ = static_cast<std::size_t>(combinations);
  return list;
}

Job JobList::make_template(const Entry& e) const {
  // The combination number in mixed radix, the last source varying fastest.
  std::vector<std::string> values(sources_.size());
  std::uint64_t k = e.ref;
  for (std::size_t s = sources_.size(); s-- > 0;) {
    values[s] = sources_[s][k % sources_[s].size()];
    k /= sources_[s].size();
  }
  Expansion x = expand(tmpl_, values, e.seq, direct_);
  Job j;
  j.seq = e.seq;
  j.argv = std::move(x.argv);
  j.command = std::move(x.command);
  j.slot_marks = std::move(x.slot_marks);
  j.args = std::move(values);
  return j;
}

Job JobList::make(const Entry& e) const {
  Job j;
  std::string_view text{text_.data() + e.ref, e.len};
  if (kind_ == Kind::tmpl) {
    j = make_template(e);
  } else if (kind_ == Kind::json) {
    (void)parse_json_job(text, j);  // checked when it was read
  } else {
    j = shell_job(text);
  }
  j.seq = e.seq;
  j.line = e.line;
  return j;
}

Job JobList::job(std::size_t i) const {
  const Entry& e = entries_.at(i);
  Job j = make(e);
  j.id = id(i);
  return j;
}

std::string JobList::id(std::size_t i) const {
  const Entry& e = entries_.at(i);
  if (e.id_len > 0) return ids_.substr(e.id_ref, e.id_len);
  return identity_text(e.hash, e.repeat);
}

void JobList::keep_if(const std::function<bool(const std::string& id)>& keep) {
  std::vector<Entry> kept;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    if (keep(id(i))) kept.push_back(entries_[i]);
  }
  entries_ = std::move(kept);
}

}  // namespace procctx::cli::batch
