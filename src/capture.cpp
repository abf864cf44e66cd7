#include "capture.hpp"

#include "sys_linux.hpp"

#include <algorithm>
#include <cstring>
#include <memory>
#include <new>
#include <utility>

#include <sys/mman.h>

namespace procctx::detail {

namespace {
constexpr std::size_t kHeapCaptureMax = 256 * 1024;
constexpr std::size_t kPage = 4096;
std::size_t page_round(std::size_t n) { return (n + kPage - 1) / kPage * kPage; }
}  // namespace

Capture& Capture::operator=(Capture&& o) noexcept {
  if (this != &o) {
    release();
    limit_ = o.limit_;
    half_ = o.half_;
    buf_ = std::exchange(o.buf_, nullptr);
    cap_ = std::exchange(o.cap_, 0);
    mapped_ = o.mapped_;
    len_ = o.len_;
    ring_ = o.ring_;
    ring_pos_ = o.ring_pos_;
    dropped_ = o.dropped_;
  }
  return *this;
}

void Capture::release() noexcept {
  if (!buf_) return;
  if (mapped_)
    sys::unmap_memory(buf_, cap_);
  else
    delete[] buf_;
  buf_ = nullptr;
  cap_ = 0;
}

void Capture::grow() {
  std::size_t want = std::min(limit_, std::max<std::size_t>(cap_ * 2, 16 * 1024));
  if (want <= kHeapCaptureMax) {
    char* grown = new char[want];
    if (len_) std::memcpy(grown, buf_, len_);
    delete[] buf_;
    buf_ = grown;
    cap_ = want;
    return;
  }
  want = page_round(want);
  void* p;
  if (!mapped_) {
    p = sys::map_memory(want, 0);
    if (!p) throw std::bad_alloc();
    if (len_) std::memcpy(p, buf_, len_);
    delete[] buf_;
    mapped_ = true;
  } else {
    p = sys::remap_memory(buf_, cap_, want);
    if (!p) throw std::bad_alloc();
  }
  sys::advise_memory(p, want, MADV_HUGEPAGE);  // a hint: ignored where THP is off
  buf_ = static_cast<char*>(p);
  cap_ = want;
}

std::span<char> Capture::space() {
  if (!ring_) {
    if (len_ == limit_) {
      if (limit_ == 0) return {};
      // Full: from now on the bytes after the head form a ring of the tail.
      ring_ = true;
      ring_pos_ = 0;
    } else {
      if (len_ == cap_) {
        try {
          grow();
        } catch (const std::bad_alloc&) {
          // No memory for more: keep what fits as head and tail from here on.
          limit_ = cap_;
          half_ = limit_ / 2;
          return space();
        }
      }
      return {buf_ + len_, std::min(cap_, limit_) - len_};
    }
  }
  std::size_t ring_size = limit_ - half_;
  if (ring_size == 0) return {};
  return {buf_ + half_ + ring_pos_, ring_size - ring_pos_};
}

void Capture::commit(std::size_t n) noexcept {
  if (!ring_) {
    len_ += n;
    return;
  }
  dropped_ += n;
  ring_pos_ = (ring_pos_ + n) % (limit_ - half_);
}

Output Capture::finish() {
  std::size_t size = len_, cut = std::string::npos;
  if (ring_) {
    // Put the tail in order in place: the oldest ring byte is at ring_pos_.
    std::size_t ring_size = limit_ - half_;
    if (buf_ && ring_size) std::rotate(buf_ + half_, buf_ + half_ + ring_pos_, buf_ + half_ + ring_size);
    size = limit_ == 0 ? 0 : half_ + ring_size;
    cut = half_;
  }
  std::shared_ptr<const char[]> storage;
  if (buf_) {
    char* p = std::exchange(buf_, nullptr);
    std::size_t cap = std::exchange(cap_, 0);
    if (mapped_)
      storage =
          std::shared_ptr<const char[]>(p, [cap](const char* q) { sys::unmap_memory(const_cast<char*>(q), cap); });
    else
      storage = std::shared_ptr<const char[]>(p, [](const char* q) { delete[] q; });
  }
  Output out{std::move(storage), size, ring_ ? dropped_ : 0, cut};
  len_ = 0;
  return out;
}

}  // namespace procctx::detail
