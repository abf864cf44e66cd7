// capture.hpp — the bytes of one Stdio::capture() stream.
#pragma once

#include <procctx/process.hpp>

#include <cstddef>
#include <cstdint>
#include <span>

namespace procctx::detail {

// Bytes of one captured stream: all of them up to `limit`, then the first
// limit/2 and a ring of the last limit - limit/2. Reads land in the buffer
// directly. Small buffers live on the heap; past 256 KiB the buffer is an
// anonymous mapping grown with mremap (no copy) and backed by huge pages
// where the kernel allows, so a 64 MiB capture is not 16,000 page faults.
// finish() hands the buffer itself to the Output: no copy there either.
class Capture {
 public:
  explicit Capture(std::size_t limit = 0) : limit_(limit), half_(limit / 2) {}
  Capture(Capture&& o) noexcept { *this = std::move(o); }
  Capture& operator=(Capture&& o) noexcept;
  Capture(const Capture&) = delete;
  Capture& operator=(const Capture&) = delete;
  ~Capture() { release(); }

  // Where the next read may write, and how much; then commit(n).
  std::span<char> space();
  void commit(std::size_t n) noexcept;
  // Bytes read past a limit that leaves no room at all (limit 0 or 1).
  void count_discarded(std::size_t n) noexcept {
    ring_ = true;
    dropped_ += n;
  }
  Output finish();

 private:
  void grow();
  void release() noexcept;
  std::size_t limit_ = 0, half_ = 0;
  char* buf_ = nullptr;
  std::size_t cap_ = 0;
  bool mapped_ = false;
  std::size_t len_ = 0;  // linear phase
  bool ring_ = false;    // past the limit
  std::size_t ring_pos_ = 0;
  std::uint64_t dropped_ = 0;
};

}  // namespace procctx::detail
