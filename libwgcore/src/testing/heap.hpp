// Heap bytes the allocator has handed out, for the memory benchmarks: glibc's mallinfo2, in-use
// chunks plus mmapped blocks. It covers the main arena only: a benchmark whose threads allocate
// limits glibc to one arena first (bench/memory_bench.cpp) or it misses their allocations.
#pragma once

#include <malloc.h>

#include <cstddef>

namespace wgcore::testing_support {

inline std::size_t heap_in_use() {
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

}  // namespace wgcore::testing_support
