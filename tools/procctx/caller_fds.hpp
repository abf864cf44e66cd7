// caller_fds.hpp — fds 0, 1 and 2 as procctx's caller gave them, made safe
// before procctx opens anything.
#pragma once

namespace procctx::cli {

// Run first thing in main(). A closed fd 0, 1 or 2 would otherwise be taken
// by procctx's first pipe, pidfd or signalfd, which a child then gets as its
// stdin, stdout or stderr. Each closed one gets /dev/null opened the other
// way round (gnulib's stdopen): a read from a closed stdin and a write to a
// closed stdout or stderr still fail with EBADF, for procctx (its --help
// reports "write error: Bad file descriptor") and for the command, which
// inherits it as it would inherit the closed fd from a shell.
// False when /dev/null cannot be opened (nothing may be run then).
bool claim_standard_fds() noexcept;

}  // namespace procctx::cli
