#include "caller_fds.hpp"

#include <cerrno>

#include <fcntl.h>
#include <unistd.h>

namespace procctx::cli {

bool claim_standard_fds() noexcept {
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) >= 0 || errno != EBADF) continue;
    // The lowest free fd is this one: every lower one is open by now.
    int got = ::open("/dev/null", (fd == STDIN_FILENO ? O_WRONLY : O_RDONLY) | O_NOCTTY);
    if (got < 0) return false;
    if (got != fd) {
      if (::dup2(got, fd) < 0) return false;
      ::close(got);
    }
  }
  return true;
}

}  // namespace procctx::cli
