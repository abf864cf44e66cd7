// messages.hpp — how procctx speaks: its name in messages (`timeout` when it
// is installed as timeout), one style for every error line, values quoted as
// GNU tools quote them, no raw control byte ever written to a terminal, and
// write errors on its own stdout reported as coreutils' close_stdout does.
#pragma once

#include <string>
#include <string_view>

namespace procctx::cli {

// Called once by main() with argv[0]. A basename of "timeout" (a symlink or
// a copy named so) makes procctx a drop-in timeout(1): it runs `procctx
// timeout` and names itself `timeout` in every message, usage and help line.
void set_invocation_name(std::string_view argv0);
// True when set_invocation_name() saw "timeout".
bool invoked_as_timeout() noexcept;

// `text` quoted like GNU's quote(): 'text' (‘text’ in a UTF-8 locale), with
// \n, \t, \033 ... and octal escapes for bytes that are not printable
// characters, and \' \\ where needed. Never a raw control byte.
std::string quote(std::string_view text);

// `text` unquoted, but with the same escapes for control characters, DEL,
// C1 controls and bytes that are not UTF-8: safe to print in any sentence
// (a library message quoting a path, say).
std::string printable(std::string_view text);

// The one error style: "PROGRAM: TEXT" on stderr, TEXT made printable().
void say(std::string_view program, std::string_view text);

// Everything procctx writes to its stdout through std::cout (help, version,
// the man page, batch's merged log) goes through a buffer that remembers the
// first write error. main() installs it before any subcommand runs and asks
// for the error at the end.
void track_stdout_errors();
// Flushes std::cout; the errno of the first failed write, or 0.
int stdout_write_error();

// Writes all of `bytes` to `fd` (retrying EINTR); 0 or the errno.
int write_all(int fd, std::string_view bytes);

// The parts appended in order, as one string. GCC 12 misreads chains of
// `"text" + std::string(...)` in optimised builds as overlapping copies
// (-Wrestrict); appending builds the same string without them.
template <class... Parts>
std::string concat(const Parts&... parts) {
  std::string out;
  (out.append(std::string_view{parts}), ...);
  return out;
}

}  // namespace procctx::cli
