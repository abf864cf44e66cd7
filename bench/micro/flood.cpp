// procctx_flood: writes BYTES bytes to stdout, in CHUNK-sized writes, and
// exits 0. It does nothing else so that a capture benchmark measures the
// reading side: the writer only ever waits for the pipe to drain.
//
// Usage: procctx_flood BYTES [CHUNK]   (CHUNK defaults to 64 KiB, a pipe's default size)
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <unistd.h>

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: procctx_flood BYTES [CHUNK]\n");
    return 2;
  }
  char* end = nullptr;
  unsigned long long left = std::strtoull(argv[1], &end, 10);
  if (*end != '\0') {
    std::fprintf(stderr, "procctx_flood: bad byte count '%s'\n", argv[1]);
    return 2;
  }
  std::size_t chunk = 64 * 1024;
  if (argc == 3) {
    chunk = static_cast<std::size_t>(std::strtoull(argv[2], &end, 10));
    if (*end != '\0' || chunk == 0) {
      std::fprintf(stderr, "procctx_flood: bad chunk size '%s'\n", argv[2]);
      return 2;
    }
  }
  // Not all zeros, so that nothing on the way can special-case them.
  std::vector<char> buffer(chunk, 'x');
  while (left > 0) {
    std::size_t want = left < chunk ? static_cast<std::size_t>(left) : chunk;
    ssize_t n = ::write(STDOUT_FILENO, buffer.data(), want);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::perror("procctx_flood: write");
      return 1;
    }
    left -= static_cast<unsigned long long>(n);
  }
  return 0;
}
