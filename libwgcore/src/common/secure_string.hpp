// Keeping key text out of freed memory: strings for text that may hold keys (UAPI requests and
// answers carry them in hex) with an allocator that zeroes every block before freeing it, so
// neither the final buffer nor the ones a growing string leaves behind keep a key; and
// burn_stack() for the stack a thread used while handling keys. Heap strings only: the few bytes
// of the small-string buffer inside the object are not cleared, and no key text is that short.
#pragma once

#include <alloca.h>

#include <cstddef>
#include <memory>
#include <string>

#include "wgcore/key.hpp"

namespace wgcore {

template <class T>
struct ZeroingAllocator {
  using value_type = T;

  ZeroingAllocator() noexcept = default;
  template <class U>
  ZeroingAllocator(const ZeroingAllocator<U>&) noexcept {}

  T* allocate(std::size_t n) { return std::allocator<T>{}.allocate(n); }
  void deallocate(T* p, std::size_t n) noexcept {
    secure_zero(p, n * sizeof(T));
    std::allocator<T>{}.deallocate(p, n);
  }

  template <class U>
  bool operator==(const ZeroingAllocator<U>&) const noexcept {
    return true;
  }
};

using SecretString = std::basic_string<char, std::char_traits<char>, ZeroingAllocator<char>>;

// Zeroes `bytes` of stack below the caller's frame, where the frames of functions it called
// lay: the compiler's temporaries and spills of keys are out of reach of any destructor, and
// glibc keeps an exited thread's stack mapped for the next thread. Call it where a thread that
// handled keys returns to its top level (the scheme of libgcrypt's _gcry_burn_stack).
[[gnu::noinline]] inline void burn_stack(std::size_t bytes = 128 * 1024) noexcept {
  void* p = alloca(bytes);
  secure_zero(p, bytes);
}

}  // namespace wgcore
