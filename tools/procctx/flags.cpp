#include "flags.hpp"

#include "messages.hpp"

#include <algorithm>
#include <sstream>

namespace procctx::cli {

bool Parsed::has(std::string_view long_name) const {
  return std::any_of(given.begin(), given.end(), [&](const auto& g) { return g.first->long_name == long_name; });
}

std::optional<std::string> Parsed::value(std::string_view long_name) const {
  std::optional<std::string> v;
  for (const auto& g : given) {
    if (g.first->long_name == long_name) v = g.second;
  }
  return v;
}

std::vector<std::string> Parsed::values(std::string_view long_name) const {
  std::vector<std::string> vs;
  for (const auto& g : given) {
    if (g.first->long_name == long_name) vs.push_back(g.second);
  }
  return vs;
}

std::string program_name(const Spec& spec) {
  if (spec.name == "timeout" && invoked_as_timeout()) return "timeout";
  return spec.name.empty() ? std::string{"procctx"} : "procctx " + std::string{spec.name};
}

namespace {

// An option as getopt quotes it in its messages (always ASCII quotes), but
// never with a raw control byte.
std::string option_text(std::string_view text) {
  std::string out{"'"};
  out += printable(text);
  out += '\'';
  return out;
}

// The flag named by `name` (a whole long name, or a unique prefix of one).
// `arg` is the whole argument, as getopt shows it in its message.
const Flag* find_long(const Spec& spec, std::string_view name, std::string_view arg, std::string& error) {
  const Flag* found = nullptr;
  int matches = 0;
  for (const Flag& f : spec.flags) {
    if (f.long_name == name) return &f;
    if (f.long_name.substr(0, name.size()) == name) {
      found = &f;
      ++matches;
    }
  }
  if (matches == 1) return found;
  error = matches == 0 ? "unrecognized option " + option_text(arg) : "option " + option_text(arg) + " is ambiguous";
  return nullptr;
}

const Flag* find_short(const Spec& spec, char c) {
  for (const Flag& f : spec.flags) {
    if (f.short_name != 0 && f.short_name == c) return &f;
  }
  return nullptr;
}

}  // namespace

std::optional<Parsed> parse(const Spec& spec, std::span<const std::string> args, std::string& error) {
  Parsed out;
  std::size_t i = 0;
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (a.size() < 2 || a[0] != '-') break;  // the first operand ("-" is one too)
    if (a[1] == '-') {
      std::string_view body = std::string_view{a}.substr(2);
      std::size_t eq = body.find('=');
      std::string_view name = body.substr(0, eq);
      const Flag* f = find_long(spec, name, a, error);
      if (!f) return std::nullopt;
      if (f->value.empty()) {
        if (eq != std::string_view::npos) {
          error = "option '--" + std::string{f->long_name} + "' doesn't allow an argument";
          return std::nullopt;
        }
        out.given.emplace_back(f, "");
      } else if (eq != std::string_view::npos) {
        out.given.emplace_back(f, std::string{body.substr(eq + 1)});
      } else if (i + 1 < args.size()) {
        out.given.emplace_back(f, args[++i]);
      } else {
        error = "option '--" + std::string{f->long_name} + "' requires an argument";
        return std::nullopt;
      }
      continue;
    }
    // A cluster of short options: -pv, -sKILL, -k 5.
    for (std::size_t j = 1; j < a.size(); ++j) {
      const Flag* f = find_short(spec, a[j]);
      if (!f) {
        error = "invalid option -- " + option_text(std::string_view{&a[j], 1});
        return std::nullopt;
      }
      if (f->value.empty()) {
        out.given.emplace_back(f, "");
        continue;
      }
      if (j + 1 < a.size()) {
        out.given.emplace_back(f, a.substr(j + 1));
      } else if (i + 1 < args.size()) {
        out.given.emplace_back(f, args[++i]);
      } else {
        error = "option requires an argument -- " + option_text(std::string_view{&a[j], 1});
        return std::nullopt;
      }
      break;
    }
  }
  out.operands.assign(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
  return out;
}

namespace {

std::string flag_label(const Flag& f) {
  std::string s;
  if (f.short_name != 0) {
    s += '-';
    s += f.short_name;
    s += ", ";
  } else {
    s += "    ";
  }
  s += "--";
  s += f.long_name;
  if (!f.value.empty()) {
    s += '=';
    s += f.value;
  }
  return s;
}

// Wraps `text` to `width` columns, each line after the first indented by `indent`.
std::string wrap(std::string_view text, std::size_t indent, std::size_t first_column, std::size_t width) {
  std::string out;
  std::size_t column = first_column;
  std::istringstream words{std::string{text}};
  std::string w;
  bool first = true;
  while (words >> w) {
    if (!first && column + 1 + w.size() > width) {
      out += '\n';
      out.append(indent, ' ');
      column = indent;
    } else if (!first) {
      out += ' ';
      ++column;
    }
    out += w;
    column += w.size();
    first = false;
  }
  return out;
}

// Roff-escapes text: backslashes, and a leading dot or quote.
std::string roff(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\') {
      out += "\\e";
    } else if (c == '-') {
      out += "\\-";
    } else {
      out += c;
    }
  }
  if (!out.empty() && (out[0] == '.' || out[0] == '\'')) out.insert(0, "\\&");
  return out;
}

}  // namespace

std::string help(const Spec& spec) {
  std::string out = "Usage: " + program_name(spec) + " " + std::string{spec.synopsis} + "\n";
  out += std::string{spec.summary} + "\n";
  if (!spec.flags.empty()) {
    out += "\nOptions:\n";
    constexpr std::size_t kHelpColumn = 32;
    for (const Flag& f : spec.flags) {
      std::string label = "  " + flag_label(f);
      out += label;
      if (label.size() + 2 > kHelpColumn) {
        out += '\n';
        out.append(kHelpColumn, ' ');
      } else {
        out.append(kHelpColumn - label.size(), ' ');
      }
      out += wrap(f.help, kHelpColumn, kHelpColumn, 100);
      out += '\n';
    }
  }
  if (!spec.details.empty()) out += concat("\n", spec.details);
  if (!out.empty() && out.back() != '\n') out += '\n';
  return out;
}

std::string man_section(const Spec& spec) {
  std::string out = concat(".SH \"", roff(program_name(spec)), "\"\n");
  out += concat(".B ", roff(program_name(spec)), "\n", roff(spec.synopsis), "\n.PP\n", roff(spec.summary), "\n");
  for (const Flag& f : spec.flags) {
    out += ".TP\n";
    if (f.short_name != 0) {
      out += "\\fB\\-";
      out += f.short_name;
      out += "\\fR, ";
    }
    out += concat("\\fB\\-\\-", roff(f.long_name), "\\fR");
    if (!f.value.empty()) out += concat("=\\fI", roff(f.value), "\\fR");
    out += concat("\n", roff(f.help), "\n");
  }
  if (!spec.details.empty()) {
    out += ".PP\n";
    std::istringstream lines{std::string{spec.details}};
    std::string line;
    while (std::getline(lines, line)) {
      if (line.empty()) {
        out += ".PP\n";
      } else {
        out += roff(line) + "\n.br\n";
      }
    }
  }
  return out;
}

}  // namespace procctx::cli
