#include "durations.hpp"

#include <cerrno>
#include <cfloat>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <string>

#include <locale.h>

namespace procctx::cli {
namespace {

locale_t c_numeric() {
  static locale_t loc = ::newlocale(LC_NUMERIC_MASK, "C", static_cast<locale_t>(nullptr));
  return loc;
}

// The user's LC_NUMERIC, read without changing procctx's own locale.
locale_t user_numeric() {
  static locale_t loc = ::newlocale(LC_NUMERIC_MASK, "", static_cast<locale_t>(nullptr));
  return loc ? loc : c_numeric();
}

// coreutils' cl_strtod: the longer of the parses in the user's locale and
// in C's (ties to the user's). Sets `end` and `err` (errno: ERANGE).
double cl_strtod(const std::string& s, std::size_t& end, int& err) {
  char* e1 = nullptr;
  errno = 0;
  double d = ::strtod_l(s.c_str(), &e1, user_numeric());
  err = errno;
  if (*e1 != '\0') {
    char* e2 = nullptr;
    errno = 0;
    double c = ::strtod_l(s.c_str(), &e2, c_numeric());
    if (e2 > e1) {
      d = c;
      e1 = e2;
      err = errno;
    }
  }
  end = static_cast<std::size_t>(e1 - s.c_str());
  return d;
}

// gnulib's dtimespec_bound: the next double above c (so a duration is never
// rounded down), and for an underflow to ±0 the smallest value of that sign.
double bound_up(double c, int err) {
  if (err == ERANGE && c == 0) return std::signbit(c) ? -DBL_TRUE_MIN : DBL_TRUE_MIN;
  constexpr double phi = DBL_EPSILON / 2 * (1 + DBL_EPSILON);
  return c + phi * c;
}

double suffix_scale(char suffix) {
  switch (suffix) {
    case '\0':
    case 's':
      return 1;
    case 'm':
      return 60;
    case 'h':
      return 60 * 60;
    case 'd':
      return 60 * 60 * 24;
    default:
      return 0;
  }
}

}  // namespace

std::optional<double> parse_gnu_duration(std::string_view text) {
  std::string s{text};
  std::size_t end = 0;
  int err = 0;
  double parsed = cl_strtod(s, end, err);
  double d = bound_up(parsed, err);
  if (end == 0 || !(0 <= d) || end + 1 < s.size()) return std::nullopt;
  double scale = suffix_scale(end < s.size() ? s[end] : '\0');
  if (scale == 0) return std::nullopt;
  return bound_up(d * scale, 0);
}

Duration seconds_to_duration(double seconds) {
  constexpr double kNever = 100.0 * 365 * 24 * 3600;
  if (!(seconds < kNever)) return Duration::max();
  double ns = std::ceil(seconds * 1e9);
  auto d = Duration{static_cast<Duration::rep>(ns)};
  if (d <= Duration::zero() && seconds > 0) d = Duration{1};
  return d;
}

Result<Duration> parse_run_duration(std::string_view text) {
  auto bad = [](std::string why) { return Error{make_error_code(errc::invalid_argument), std::move(why)}; };
  const char* kUnits = "expected a number and an optional unit: ns, us, ms, s, m, h or d (250ms, 1.5s, 2m)";
  std::size_t digits = text.find_first_not_of("0123456789.eE+-");
  std::string number{text.substr(0, digits)};
  std::string_view unit = digits == std::string_view::npos ? std::string_view{} : text.substr(digits);
  if (number.empty() || (number[0] != '.' && (number[0] < '0' || number[0] > '9'))) {
    return bad(!number.empty() && number[0] == '-' ? "must not be negative" : kUnits);
  }
  char* end = nullptr;
  errno = 0;
  double value = ::strtod_l(number.c_str(), &end, c_numeric());
  if (*end != '\0') return bad(kUnits);
  double scale = 0;
  if (unit.empty() || unit == "s") scale = 1;
  if (unit == "ns") scale = 1e-9;
  if (unit == "us") scale = 1e-6;
  if (unit == "ms") scale = 1e-3;
  if (unit.size() == 1 && unit != "s") scale = suffix_scale(unit[0]);
  if (scale == 0) return bad("unknown unit '" + std::string{unit} + "'; " + kUnits);
  double seconds = errno == ERANGE && value == 0 ? DBL_TRUE_MIN : value * scale;
  return seconds_to_duration(seconds);
}

}  // namespace procctx::cli
