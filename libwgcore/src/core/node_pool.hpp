// NodePool: the memory behind one AllowedIPs trie. Blocks are carved from large chunks and freed
// blocks wait on per-size free lists, so inserting and removing prefixes costs no malloc/free
// per object (remove_by_peer of 100k prefixes otherwise spends most of its time inside glibc).
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <new>

namespace wgcore::allowedips_detail {

// Sizes are rounded up to 16-byte granules; one free list per granule count. Blocks are never
// split or merged, so a freed block serves only its own size: the trie frees sizes it will ask
// for again (nodes come in a handful of capacities, entries in one size), and the owner rebuilds
// into a fresh pool when too much sits free (see reserved_bytes()/live_bytes()).
class NodePool {
 public:
  static constexpr std::size_t kGranule = 16;  // the alignment of an IPv6 node (its __int128 key)
  static constexpr std::size_t kMaxBlock = 2048;

  NodePool() = default;
  NodePool(const NodePool&) = delete;
  NodePool& operator=(const NodePool&) = delete;
  NodePool(NodePool&& o) noexcept { *this = std::move(o); }
  NodePool& operator=(NodePool&& o) noexcept {
    if (this != &o) {
      release();
      free_ = o.free_;
      chunks_ = o.chunks_;
      bump_ = o.bump_;
      end_ = o.end_;
      reserved_ = o.reserved_;
      live_ = o.live_;
      next_chunk_ = o.next_chunk_;
      o.forget();
    }
    return *this;
  }
  ~NodePool() { release(); }

  // Throws std::bad_alloc. bytes <= kMaxBlock.
  void* allocate(std::size_t bytes) {
    void* p = try_allocate(bytes);
    if (!p) throw std::bad_alloc();
    return p;
  }

  void* try_allocate(std::size_t bytes) noexcept {
    const std::size_t g = granules(bytes);
    live_ += g * kGranule;
    if (FreeBlock* b = free_[g]) {
      free_[g] = b->next;
      return b;
    }
    if (std::size_t(end_ - bump_) < g * kGranule && !add_chunk(g * kGranule)) {
      live_ -= g * kGranule;
      return nullptr;
    }
    void* p = bump_;
    bump_ += g * kGranule;
    return p;
  }

  // bytes: what was asked of allocate() for p.
  void deallocate(void* p, std::size_t bytes) noexcept {
    const std::size_t g = granules(bytes);
    live_ -= g * kGranule;
    auto* b = static_cast<FreeBlock*>(p);
    b->next = free_[g];
    free_[g] = b;
  }

  // What a block of `bytes` really takes from a chunk.
  static constexpr std::size_t block_bytes(std::size_t bytes) noexcept {
    return granules(bytes) * kGranule;
  }

  // Makes the next `bytes` of allocations come from one chunk of exactly that size (used to
  // rebuild a trie compactly). False without memory.
  bool reserve_exact(std::size_t bytes) noexcept { return add_chunk_sized(bytes); }

  // Returns every chunk to the system; all blocks become invalid.
  void release() noexcept {
    while (chunks_) {
      Chunk* c = chunks_;
      chunks_ = c->next;
      ::operator delete(c);
    }
    forget();
  }

  std::size_t reserved_bytes() const noexcept { return reserved_; }  // chunks held
  std::size_t live_bytes() const noexcept { return live_; }          // blocks handed out

 private:
  struct FreeBlock {
    FreeBlock* next;
  };
  struct alignas(16) Chunk {
    Chunk* next;
  };
  static constexpr std::size_t kMinChunk = 4096;
  static constexpr std::size_t kMaxChunk = std::size_t{1} << 20;

  static constexpr std::size_t granules(std::size_t bytes) noexcept {
    return (std::max(bytes, sizeof(FreeBlock)) + kGranule - 1) / kGranule;
  }

  // Chunks grow with the pool (4 KiB up to 1 MiB), so a small table stays small and a large one
  // costs few system allocations. The tail of the previous chunk is given up (< kMaxBlock).
  bool add_chunk(std::size_t need) noexcept {
    const std::size_t size = std::max(next_chunk_, need + sizeof(Chunk));
    if (!add_chunk_sized(size - sizeof(Chunk))) return false;
    next_chunk_ = std::min(next_chunk_ * 2, kMaxChunk);
    return true;
  }
  bool add_chunk_sized(std::size_t usable) noexcept {
    void* mem = ::operator new(sizeof(Chunk) + usable, std::nothrow);
    if (!mem) return false;
    auto* c = static_cast<Chunk*>(mem);
    c->next = chunks_;
    chunks_ = c;
    bump_ = reinterpret_cast<char*>(c + 1);
    end_ = bump_ + usable;
    reserved_ += sizeof(Chunk) + usable;
    return true;
  }
  void forget() noexcept {
    free_.fill(nullptr);
    chunks_ = nullptr;
    bump_ = end_ = nullptr;
    reserved_ = live_ = 0;
    next_chunk_ = kMinChunk;
  }

  std::array<FreeBlock*, kMaxBlock / kGranule + 1> free_{};
  Chunk* chunks_ = nullptr;
  char* bump_ = nullptr;
  char* end_ = nullptr;
  std::size_t reserved_ = 0;
  std::size_t live_ = 0;
  std::size_t next_chunk_ = kMinChunk;
};

}  // namespace wgcore::allowedips_detail
