// ReplayWindow tests: the kernel's known-answer sequence, targeted edges (window boundary, ring
// clearing on jumps, reject limit) and a long randomized run against a naive set-based model.
#include "core/replay.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <set>
#include <vector>

namespace wgcore {
namespace {

constexpr std::uint64_t W = proto::kCounterWindowSize;
constexpr std::uint64_t kLimit = proto::kRejectAfterMessages;
constexpr std::uint64_t kRingBits = proto::kCounterBitsTotal;

// The obviously-correct model: remember every accepted counter. A counter is accepted iff it is
// below the limit, not yet accepted, and no more than W below the greatest accepted one.
class NaiveReplay {
 public:
  bool validate(std::uint64_t c) {
    if (c >= kLimit) return false;
    if (any_ && c + W < max_) return false;
    if (!seen_.insert(c).second) return false;
    if (!any_ || c > max_) max_ = c;
    any_ = true;
    // Entries far below the window can never matter again; dropping them keeps the model fast.
    if (seen_.size() > 4 * W && max_ > W) seen_.erase(seen_.begin(), seen_.lower_bound(max_ - W));
    return true;
  }
  void reset() {
    seen_.clear();
    any_ = false;
    max_ = 0;
  }
  std::uint64_t max() const { return max_; }
  bool any() const { return any_; }

 private:
  std::set<std::uint64_t> seen_;
  bool any_ = false;
  std::uint64_t max_ = 0;
};

TEST(ReplayWindow, Constants) {
  // The ring must keep one spare word beyond the window (RFC 6479) and be a power of two.
  EXPECT_EQ(W + 64, kRingBits);
  EXPECT_EQ(kLimit, UINT64_MAX - W - 1);
}

TEST(ReplayWindow, FreshStateAcceptsCounterZeroOnce) {
  ReplayWindow r;
  EXPECT_FALSE(r.seen_any());
  EXPECT_TRUE(r.validate(0));
  EXPECT_TRUE(r.seen_any());
  EXPECT_EQ(r.greatest(), 0u);
  EXPECT_FALSE(r.validate(0));
}

TEST(ReplayWindow, InOrderAcceptedDuplicatesRejected) {
  ReplayWindow r;
  for (std::uint64_t c = 0; c < 3 * kRingBits; ++c) {
    ASSERT_TRUE(r.validate(c)) << c;
    ASSERT_EQ(r.greatest(), c);
    ASSERT_FALSE(r.validate(c)) << c;
    if (c > 0) {
      ASSERT_FALSE(r.validate(c - 1)) << c;
    }
  }
}

TEST(ReplayWindow, ReorderingWithinWindowAcceptedOnce) {
  ReplayWindow r;
  ASSERT_TRUE(r.validate(5000));
  // Every counter below 5000 is inside the window; each is accepted exactly once, in any order.
  for (std::uint64_t c = 4999 + 1; c-- > 0;) ASSERT_TRUE(r.validate(c)) << c;
  for (std::uint64_t c = 0; c <= 5000; ++c) ASSERT_FALSE(r.validate(c)) << c;
  EXPECT_EQ(r.greatest(), 5000u);
  // Odd counters first, then even ones, across word boundaries.
  r.reset();
  for (std::uint64_t c = 1; c < 1000; c += 2) ASSERT_TRUE(r.validate(c));
  for (std::uint64_t c = 0; c < 1000; c += 2) ASSERT_TRUE(r.validate(c));
  for (std::uint64_t c = 0; c < 1000; ++c) ASSERT_FALSE(r.validate(c));
}

TEST(ReplayWindow, WindowBoundary) {
  const std::uint64_t top = 3 * kRingBits + 17;  // not word aligned on purpose
  for (std::uint64_t back : {W - 1, W, W + 1, W + 2, kRingBits - 1, kRingBits}) {
    ReplayWindow r;
    ASSERT_TRUE(r.validate(top));
    const bool inside = back <= W;  // counter + W >= greatest
    EXPECT_EQ(r.validate(top - back), inside) << "back=" << back;
    EXPECT_EQ(r.greatest(), top);
    EXPECT_FALSE(r.validate(top - back)) << "back=" << back;  // second time never
  }
  // From a fresh state: counter W after 0 keeps 0 in the window; 2W + 1 pushes it out.
  ReplayWindow r;
  ASSERT_TRUE(r.validate(W));
  EXPECT_TRUE(r.validate(0));
  r.reset();
  ASSERT_TRUE(r.validate(W + 1));
  EXPECT_FALSE(r.validate(0));
  EXPECT_TRUE(r.validate(1));
}

TEST(ReplayWindow, TooOldRejectedAndChangesNothing) {
  ReplayWindow r;
  ASSERT_TRUE(r.validate(100000));
  EXPECT_FALSE(r.validate(100000 - W - 1));
  EXPECT_FALSE(r.validate(0));
  EXPECT_EQ(r.greatest(), 100000u);
  // The rejected probes did not mark anything: the oldest in-window counter is still fresh.
  EXPECT_TRUE(r.validate(100000 - W));
}

TEST(ReplayWindow, LargeJumpClearsSkippedWords) {
  // Fill the whole ring, then jump by various amounts; every counter that is newly inside the
  // window must be accepted even though its ring slot held bits of old counters.
  for (std::uint64_t jump : {std::uint64_t(1), std::uint64_t(63), std::uint64_t(64),
                             std::uint64_t(65), W - 1, W, W + 1, kRingBits, kRingBits + 64,
                             3 * kRingBits + 5, std::uint64_t(1) << 40}) {
    ReplayWindow r;
    const std::uint64_t base = 2 * kRingBits;
    for (std::uint64_t c = base - kRingBits; c <= base; ++c) r.validate(c);
    const std::uint64_t top = base + jump;
    ASSERT_TRUE(r.validate(top)) << jump;
    const std::uint64_t lo = top - W;
    for (std::uint64_t c = lo; c < top; ++c) {
      const bool was_seen = c <= base;
      ASSERT_EQ(r.validate(c), !was_seen) << "jump=" << jump << " c=" << c;
    }
    ASSERT_FALSE(r.validate(lo - 1)) << jump;
  }
}

TEST(ReplayWindow, RejectLimit) {
  ReplayWindow r;
  EXPECT_FALSE(r.validate(kLimit));
  EXPECT_FALSE(r.validate(UINT64_MAX));
  EXPECT_FALSE(r.seen_any());  // rejected counters do not move the window
  EXPECT_TRUE(r.validate(kLimit - 1));
  EXPECT_EQ(r.greatest(), kLimit - 1);
  EXPECT_FALSE(r.validate(kLimit - 1));
  EXPECT_FALSE(r.validate(kLimit));
  EXPECT_TRUE(r.validate(kLimit - 1 - W));
  EXPECT_FALSE(r.validate(kLimit - 2 - W));
  EXPECT_FALSE(r.validate(0));
}

TEST(ReplayWindow, ResetForgetsEverything) {
  ReplayWindow r;
  for (std::uint64_t c = 0; c < 200; ++c) ASSERT_TRUE(r.validate(c));
  r.reset();
  EXPECT_FALSE(r.seen_any());
  for (std::uint64_t c = 0; c < 200; ++c) ASSERT_TRUE(r.validate(c));
}

// The kernel's selftest sequence (drivers/net/wireguard/selftest/counter.c), as data.
TEST(ReplayWindow, KernelKnownAnswers) {
  constexpr std::uint64_t L = W + 1;  // the kernel's T_LIM
  struct Step {
    std::uint64_t counter;
    bool accepted;
  };
  const std::vector<Step> steps = {
      {0, true},  {1, true},           {1, false},         {9, true},          {8, true},
      {7, true},  {7, false},          {L, true},          {L - 1, true},      {L - 1, false},
      {L - 2, true},                   {2, true},          {2, false},         {L + 16, true},
      {3, false}, {L + 16, false},     {L * 4, true},      {L * 4 - (L - 1), true},
      {10, false},                     {L * 4 - L, false}, {L * 4 - (L + 1), false},
      {L * 4 - (L - 2), true},         {L * 4 + 1 - L, false},                 {0, false},
      {kLimit, false},                 {kLimit - 1, true}, {kLimit, false},    {kLimit - 1, false},
      {kLimit - 2, true},              {kLimit + 1, false},                    {kLimit + 2, false},
      {kLimit - 2, false},             {kLimit - 3, true}, {0, false},
  };
  ReplayWindow r;
  for (std::size_t i = 0; i < steps.size(); ++i)
    EXPECT_EQ(r.validate(steps[i].counter), steps[i].accepted) << "step " << i + 1;

  r.reset();
  for (std::uint64_t i = 1; i <= W; ++i) ASSERT_TRUE(r.validate(i));
  EXPECT_TRUE(r.validate(0));
  EXPECT_FALSE(r.validate(0));

  r.reset();
  for (std::uint64_t i = 2; i <= W + 1; ++i) ASSERT_TRUE(r.validate(i));
  EXPECT_TRUE(r.validate(1));
  EXPECT_FALSE(r.validate(0));

  r.reset();
  for (std::uint64_t i = W + 1; i-- > 0;) ASSERT_TRUE(r.validate(i));

  r.reset();
  for (std::uint64_t i = W + 2; i-- > 1;) ASSERT_TRUE(r.validate(i));
  EXPECT_FALSE(r.validate(0));

  r.reset();
  for (std::uint64_t i = W + 1; i-- > 1;) ASSERT_TRUE(r.validate(i));
  EXPECT_TRUE(r.validate(W + 1));
  EXPECT_FALSE(r.validate(0));

  r.reset();
  for (std::uint64_t i = W + 1; i-- > 1;) ASSERT_TRUE(r.validate(i));
  EXPECT_TRUE(r.validate(0));
  EXPECT_TRUE(r.validate(W + 1));
}

// About a million operations against the naive model: mostly jitter around the top (including
// the exact window edges and replays of recent counters), sometimes jumps of every size, the
// reject limit, and resets.
TEST(ReplayWindow, RandomizedAgainstNaiveModel) {
  std::mt19937_64 rng(0x5eed'7e9a'11ce'0001ULL);
  ReplayWindow r;
  NaiveReplay ref;
  std::vector<std::uint64_t> recent;  // recently offered counters, to replay
  std::uint64_t accepted = 0, rejected = 0;
  auto pick = [&](std::uint64_t n) { return rng() % n; };

  for (int op = 0; op < 1'000'000; ++op) {
    const std::uint64_t top = ref.max();
    std::uint64_t c;
    const std::uint64_t kind = pick(1000);
    if (kind < 2) {
      r.reset();
      ref.reset();
      recent.clear();
      continue;
    } else if (kind < 500) {
      // Mostly forward, small jitter.
      c = top + pick(64) - (pick(4) == 0 ? pick(200) : 0);
    } else if (kind < 700) {
      // Anywhere around the window, including well outside it.
      const std::uint64_t back = pick(W + 300);
      c = top >= back ? top - back : pick(64);
    } else if (kind < 760) {
      // Exactly at the edges.
      const std::uint64_t edge = W - 1 + pick(3);  // W-1, W, W+1 behind the top
      c = top >= edge ? top - edge : 0;
    } else if (kind < 900) {
      c = recent.empty() ? top : recent[pick(recent.size())];
    } else if (kind < 990) {
      // Jumps of one word to several rings.
      c = top + 1 + pick(4 * kRingBits);
    } else if (kind < 996) {
      c = top + (std::uint64_t(1) << (20 + pick(30))) + pick(1000);
    } else {
      // Near the limit; both sides of it.
      c = kLimit - 8 + pick(16);
    }
    const bool want = ref.validate(c);
    const bool got = r.validate(c);
    ASSERT_EQ(got, want) << "op " << op << " counter " << c << " top " << top;
    if (want) {
      ++accepted;
      ASSERT_EQ(r.greatest(), ref.max());
    } else {
      ++rejected;
    }
    if (recent.size() < 512) {
      recent.push_back(c);
    } else {
      recent[pick(recent.size())] = c;
    }
  }
  // The mix must exercise both outcomes heavily, or the comparison proves little.
  EXPECT_GT(accepted, 200'000u);
  EXPECT_GT(rejected, 200'000u);
}

}  // namespace
}  // namespace wgcore
