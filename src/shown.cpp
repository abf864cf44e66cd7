#include "shown.hpp"

#include <algorithm>

namespace procctx::detail {
namespace {

// c as \ooo, or as its C escape (\n, \t...) where it has one: as GNU tools
// and procctx's CLI write it.
void escape(std::string& out, unsigned char c) {
  static const char letters[] = "abtnvfr";
  out += '\\';
  if (c >= '\a' && c <= '\r') {
    out += letters[c - '\a'];
    return;
  }
  out += static_cast<char>('0' + (c >> 6));
  out += static_cast<char>('0' + ((c >> 3) & 7));
  out += static_cast<char>('0' + (c & 7));
}

// The length of the well-formed UTF-8 sequence at the start of `s` (0: none).
std::size_t utf8_length(std::string_view s) {
  auto byte = [&s](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  unsigned char b = byte(0);
  std::size_t n = b >= 0xf0 && b <= 0xf4 ? 4 : b >= 0xe0 ? 3 : b >= 0xc2 && b <= 0xdf ? 2 : 0;
  if (n == 0 || s.size() < n) return 0;
  for (std::size_t i = 1; i < n; ++i) {
    if ((byte(i) & 0xc0) != 0x80) return 0;
  }
  unsigned char c = byte(1);
  if (b == 0xe0 && c < 0xa0) return 0;  // overlong
  if (b == 0xed && c > 0x9f) return 0;  // a surrogate
  if (b == 0xf0 && c < 0x90) return 0;  // overlong
  if (b == 0xf4 && c > 0x8f) return 0;  // past U+10FFFF
  return n;
}

}  // namespace

std::string printable(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80 ? 1 : utf8_length(s.substr(i));
    bool control =
        c < 0x20 || c == 0x7f || (c == 0xc2 && n == 2 && static_cast<unsigned char>(s[i + 1]) < 0xa0);
    if (c == '\\') {
      out += "\\\\";
    } else if (n == 0 || control) {
      // Not UTF-8, or a control (C1 as UTF-8 too): every byte of it escaped.
      for (std::size_t k = 0; k < std::max<std::size_t>(n, 1); ++k)
        escape(out, static_cast<unsigned char>(s[i + k]));
    } else {
      out.append(s.substr(i, n));
    }
    i += std::max<std::size_t>(n, 1);
  }
  return out;
}

std::string shown(std::string_view s) { return concat("'", printable(s), "'"); }

}  // namespace procctx::detail
