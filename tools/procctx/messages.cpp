#include "messages.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <cwctype>
#include <iostream>
#include <streambuf>

#include <langinfo.h>
#include <locale.h>
#include <unistd.h>

namespace procctx::cli {
namespace {

bool g_timeout = false;

// The user's LC_CTYPE (from LC_ALL, LC_CTYPE or LANG), read once without
// changing procctx's own locale; nullptr when it cannot be loaded.
locale_t user_ctype() {
  static locale_t loc = ::newlocale(LC_CTYPE_MASK, "", static_cast<locale_t>(nullptr));
  return loc;
}

bool utf8_locale() {
  static const bool utf8 = [] {
    locale_t loc = user_ctype();
    const char* set = loc ? ::nl_langinfo_l(CODESET, loc) : "";
    return std::strcmp(set, "UTF-8") == 0;
  }();
  return utf8;
}

// The length of the well-formed UTF-8 sequence at `s` and its code point,
// or 0 when the byte there does not start one.
std::size_t utf8_char(std::string_view s, char32_t& cp) {
  auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  unsigned char c = b(0);
  std::size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
  if (n == 0 || n > s.size()) return 0;
  cp = n == 1 ? c : static_cast<char32_t>(c & (0x7f >> n));
  for (std::size_t i = 1; i < n; ++i) {
    if ((b(i) & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (b(i) & 0x3f);
  }
  static constexpr char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return n;
}

void octal(std::string& out, unsigned char c) {
  out += '\\';
  out += static_cast<char>('0' + (c >> 6));
  out += static_cast<char>('0' + ((c >> 3) & 7));
  out += static_cast<char>('0' + (c & 7));
}

// C's own escapes: 'n' for '\n', ...; 0 for the others.
char named_escape(unsigned char c) {
  switch (c) {
    case '\a':
      return 'a';
    case '\b':
      return 'b';
    case '\f':
      return 'f';
    case '\n':
      return 'n';
    case '\r':
      return 'r';
    case '\t':
      return 't';
    case '\v':
      return 'v';
    default:
      return 0;
  }
}

// Appends the next character of `s` to `out`, escaped unless it prints as
// itself; returns how many bytes it took.
std::size_t escape_one(std::string& out, std::string_view s) {
  unsigned char c = static_cast<unsigned char>(s[0]);
  if (char letter = named_escape(c)) {
    out += '\\';
    out += letter;
    return 1;
  }
  if (c < 0x80) {
    if (c < 0x20 || c == 0x7f) {
      octal(out, c);
    } else {
      out += static_cast<char>(c);
    }
    return 1;
  }
  char32_t cp = 0;
  std::size_t n = utf8_locale() ? utf8_char(s, cp) : 0;
  locale_t loc = user_ctype();
  bool prints = n > 0 && loc && ::iswprint_l(static_cast<wint_t>(cp), loc);
  if (!prints) n = n ? n : 1;
  for (std::size_t i = 0; i < n; ++i) {
    if (prints) {
      out += s[i];
    } else {
      octal(out, static_cast<unsigned char>(s[i]));
    }
  }
  return n;
}

// std::cout's buffer: straight to fd 1, remembering the first write error.
class StdoutBuffer : public std::streambuf {
 public:
  int error() const noexcept { return error_; }

 protected:
  int_type overflow(int_type c) override {
    if (sync() != 0) return traits_type::eof();
    if (!traits_type::eq_int_type(c, traits_type::eof())) {
      buf_[0] = traits_type::to_char_type(c);
      setp(buf_, buf_ + sizeof buf_);
      pbump(1);
    }
    return traits_type::not_eof(c);
  }
  int sync() override {
    std::string_view pending{pbase() ? pbase() : buf_, static_cast<std::size_t>(pptr() - pbase())};
    setp(buf_, buf_ + sizeof buf_);
    if (error_ != 0) return -1;  // the rest is lost too; the first error is what counts
    error_ = write_all(STDOUT_FILENO, pending);
    return error_ == 0 ? 0 : -1;
  }

 private:
  char buf_[8192];
  int error_ = 0;
};

StdoutBuffer& stdout_buffer() {
  // Never destroyed: std::cout is flushed after every static is gone.
  static auto* buffer = new StdoutBuffer;
  return *buffer;
}

}  // namespace

void set_invocation_name(std::string_view argv0) {
  auto slash = argv0.rfind('/');
  g_timeout = argv0.substr(slash == std::string_view::npos ? 0 : slash + 1) == "timeout";
}

bool invoked_as_timeout() noexcept { return g_timeout; }

std::string quote(std::string_view text) {
  // gnulib's locale_quoting_style: the locale's quotation marks, and a
  // backslash before a closing mark or a backslash inside.
  const std::string_view open = utf8_locale() ? "\u2018" : "'";
  const std::string_view close = utf8_locale() ? "\u2019" : "'";
  std::string out{open};
  for (std::size_t i = 0; i < text.size();) {
    std::string_view rest = text.substr(i);
    if (rest.substr(0, close.size()) == close || rest[0] == '\\') {
      out += '\\';
      std::size_t n = rest[0] == '\\' ? 1 : close.size();
      out += rest.substr(0, n);
      i += n;
      continue;
    }
    i += escape_one(out, rest);
  }
  out += close;
  return out;
}

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) i += escape_one(out, text.substr(i));
  return out;
}

void say(std::string_view program, std::string_view text) {
  std::string line{program};
  line += ": ";
  line += printable(text);
  line += '\n';
  (void)write_all(STDERR_FILENO, line);
}

void track_stdout_errors() { std::cout.rdbuf(&stdout_buffer()); }

int stdout_write_error() {
  std::cout.flush();
  if (std::cout.rdbuf() != &stdout_buffer()) return std::cout ? 0 : EIO;
  return stdout_buffer().error();
}

int write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return 0;
}

}  // namespace procctx::cli
