// CoDel tests: the behaviour RFC 8289 specifies (no drop below target or for a queue shorter than
// an interval, the first drop an interval after the queue stood up, drops closer together as
// interval/sqrt(count), leaving and re-entering the dropping state), and a randomized run against
// a literal transcription of the RFC's pseudocode driving a simulated queue.
#include "device/codel.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <deque>
#include <random>
#include <vector>

namespace wgcore {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;

constexpr Time kStart = std::chrono::seconds(1);

TEST(CoDel, NeverDropsBelowTarget) {
  CoDel c;
  for (int i = 0; i < 100000; ++i)
    ASSERT_FALSE(c.on_dequeue(kStart + microseconds(i), CoDel::kTarget - nanoseconds(1)));
  EXPECT_FALSE(c.dropping());
}

TEST(CoDel, QueueShorterThanAnIntervalIsNeverDropped) {
  CoDel c;
  // Above target for 9.9 ms, then below for a moment, again and again: a receiver descheduled
  // for a while that drains its queue each time.
  Time t = kStart;
  for (int burst = 0; burst < 100; ++burst) {
    for (int i = 0; i < 99; ++i, t += microseconds(100))
      ASSERT_FALSE(c.on_dequeue(t, milliseconds(5)));
    ASSERT_FALSE(c.on_dequeue(t, microseconds(10)));
    t += microseconds(100);
  }
}

TEST(CoDel, StandingQueueDropsAfterAnIntervalThenFasterBySqrtCount) {
  CoDel c;
  const nanoseconds step = microseconds(10);
  std::vector<Time> drops;
  for (Time t = kStart; t < kStart + milliseconds(100); t += step)
    if (c.on_dequeue(t, milliseconds(2))) drops.push_back(t);
  ASSERT_GE(drops.size(), 5u);
  // The first packet above target starts the clock; the first drop is an interval later.
  EXPECT_EQ(drops[0], kStart + CoDel::kInterval);
  for (std::size_t i = 1; i < drops.size(); ++i) {
    // After drop i-1, count is i and drop_next advances by interval/sqrt(i) from the previous
    // schedule; packets come every step, so each drop happens within one step of its schedule.
    const double gap = double(CoDel::kInterval.count()) / std::sqrt(double(i));
    const double got = double((drops[i] - drops[i - 1]).count());
    EXPECT_NEAR(got, gap, double(step.count())) << "drop " << i;
  }
  EXPECT_TRUE(c.dropping());
  EXPECT_EQ(c.count(), drops.size());
}

TEST(CoDel, LeavesDroppingWhenTheQueueDrainsAndResumesNearTheOldRate) {
  CoDel c;
  Time t = kStart;
  int dropped = 0;
  for (; t < kStart + milliseconds(60); t += microseconds(10)) dropped += c.on_dequeue(t, milliseconds(2));
  ASSERT_TRUE(c.dropping());
  const std::uint32_t count = c.count();
  EXPECT_EQ(std::uint32_t(dropped), count);
  EXPECT_FALSE(c.on_dequeue(t, microseconds(50)));  // drained
  EXPECT_FALSE(c.dropping());
  // Back within 16 intervals: after another interval above target, the count resumes at the
  // number of drops the last dropping state made (count - last count), not at 1.
  t += milliseconds(5);
  Time first_drop{0};
  for (; first_drop == Time{0}; t += microseconds(10))
    if (c.on_dequeue(t, milliseconds(2))) first_drop = t;
  EXPECT_EQ(c.count(), count - 1);
}

TEST(CoDel, SlowServiceOfAnAlmostEmptyQueueIsNoStandingQueue) {
  // A trickle of pings on a slow host (an emulated guest, a sanitizer build): each waits 3 ms,
  // far above target, but nothing queues behind it. No drops, however long it goes on.
  CoDel c;
  for (int i = 0; i < 10000; ++i)
    ASSERT_FALSE(c.on_dequeue(kStart + milliseconds(50) * i, milliseconds(3), 0));
  // The same trickle with the backlog unknown is taken for a queue: the caller must say.
  CoDel unknown;
  int drops = 0;
  for (int i = 0; i < 100; ++i) drops += unknown.on_dequeue(kStart + milliseconds(50) * i, milliseconds(3));
  EXPECT_GT(drops, 90);
  // A standing queue that drains to one packet behind the head leaves the dropping state.
  CoDel d;
  Time t = kStart;
  for (; !d.dropping(); t += microseconds(10)) d.on_dequeue(t, milliseconds(2));
  EXPECT_FALSE(d.on_dequeue(t, milliseconds(2), CoDel::kMaxPacket));
  EXPECT_FALSE(d.dropping());
}

TEST(CoDel, ResetForgetsAStandingQueue) {
  CoDel c;
  Time t = kStart;
  for (; !c.dropping(); t += microseconds(10)) c.on_dequeue(t, milliseconds(2));
  c.reset();
  EXPECT_FALSE(c.dropping());
  // The queue must stand for a whole interval again before the next drop.
  Time next_drop{0};
  const Time from = t;
  for (; next_drop == Time{0}; t += microseconds(10))
    if (c.on_dequeue(t, milliseconds(2))) next_drop = t;
  EXPECT_EQ(next_drop, from + CoDel::kInterval);
}

// RFC 8289 section 5's pseudocode, transcribed as literally as C++ allows, over a simulated queue
// of packets with enqueue timestamps. dequeue() may consume several packets at one `now` (it drops
// and dequeues the next); each is recorded with its sojourn, so the same sequence can be fed to
// CoDel::on_dequeue one packet at a time.
class RfcCodel {
 public:
  struct Seen {
    Time now;
    nanoseconds sojourn;
    std::size_t backlog;
    bool dropped;
  };
  static constexpr std::size_t kPacketBytes = 1400;
  static constexpr std::size_t MAXPACKET = CoDel::kMaxPacket;
  RfcCodel(nanoseconds target, nanoseconds interval) : TARGET(target), INTERVAL(interval) {}

  std::deque<Time> queue;  // enqueue timestamps
  std::vector<Seen> seen;

  void dequeue(Time now) {
    auto r = dodequeue(now);
    if (!r.p) {
      dropping = false;
      return;
    }
    if (dropping) {
      if (!r.ok_to_drop) {
        dropping = false;
      }
      while (now >= drop_next && dropping) {
        drop(r);
        ++count;
        r = dodequeue(now);
        if (!r.ok_to_drop) {
          dropping = false;
        } else {
          drop_next = control_law(drop_next, count);
        }
      }
    } else if (r.ok_to_drop) {
      drop(r);
      r = dodequeue(now);
      dropping = true;
      std::uint32_t delta = count - lastcount;
      count = 1;
      if ((delta > 1) && (now - drop_next < 16 * INTERVAL)) count = delta;
      drop_next = control_law(now, count);
      lastcount = count;
    }
  }

 private:
  struct Result {
    bool p = false;
    bool ok_to_drop = false;
    std::size_t index = 0;
  };
  Result dodequeue(Time now) {
    Result r;
    if (queue.empty()) {
      first_above_time = Time{0};
      return r;
    }
    const Time tstamp = queue.front();
    queue.pop_front();
    r.p = true;
    r.index = seen.size();
    const nanoseconds sojourn_time = now - tstamp;
    seen.push_back({now, sojourn_time, bytes(), false});
    if (sojourn_time < TARGET || bytes() <= MAXPACKET) {
      first_above_time = Time{0};
    } else {
      if (first_above_time == Time{0}) {
        first_above_time = now + INTERVAL;
      } else if (now >= first_above_time) {
        r.ok_to_drop = true;
      }
    }
    return r;
  }
  void drop(const Result& r) { seen[r.index].dropped = true; }
  std::size_t bytes() const { return queue.size() * kPacketBytes; }
  Time control_law(Time t, std::uint32_t c) const {
    return t + nanoseconds(std::int64_t(double(INTERVAL.count()) / std::sqrt(double(c))));
  }

  const nanoseconds TARGET, INTERVAL;
  Time first_above_time{0}, drop_next{0};
  std::uint32_t count = 0, lastcount = 0;
  bool dropping = false;
};

TEST(CoDel, MatchesTheRfcPseudocodeOnRandomQueues) {
  std::mt19937_64 rng(20261122);
  for (int trial = 0; trial < 40; ++trial) {
    RfcCodel ref(CoDel::kTarget, CoDel::kInterval);
    // Phases of arrival rate above and below the service rate build and drain standing queues.
    Time t = kStart, next_arrival = kStart;
    std::uniform_int_distribution<int> phase_len(1000, 20000);
    for (int phase = 0; phase < 12; ++phase) {
      const int n = phase_len(rng);
      const bool overload = rng() % 2;
      const nanoseconds service = microseconds(1 + rng() % 3);
      const nanoseconds arrival = overload ? service * 7 / 10 : service * 3 / 2;
      for (int i = 0; i < n; ++i) {
        while (next_arrival <= t) {
          ref.queue.push_back(next_arrival);
          next_arrival += arrival + nanoseconds(rng() % 200);
        }
        ref.dequeue(t);
        t += service;
      }
    }
    CoDel ours;
    std::size_t drops = 0;
    for (std::size_t i = 0; i < ref.seen.size(); ++i) {
      const auto& s = ref.seen[i];
      ASSERT_EQ(ours.on_dequeue(s.now, s.sojourn, s.backlog), s.dropped) << "trial " << trial << " packet " << i;
      drops += s.dropped;
    }
    if (trial == 0) {
      EXPECT_GT(drops, 0u);  // the simulation does reach the dropping state
    }
  }
}

// The IPv4 header checksum recomputed from scratch (RFC 791), for checking the incremental update.
std::uint16_t ipv4_checksum(const std::vector<std::uint8_t>& h) {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i < 20; i += 2)
    if (i != 10) sum += std::uint32_t(h[i] << 8 | h[i + 1]);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return std::uint16_t(~sum);
}

std::vector<std::uint8_t> ipv4_packet(std::uint8_t tos, std::mt19937_64& rng) {
  std::vector<std::uint8_t> p(40);
  for (auto& b : p) b = std::uint8_t(rng());
  p[0] = 0x45;
  p[1] = tos;
  const std::uint16_t c = ipv4_checksum(p);
  p[10] = std::uint8_t(c >> 8);
  p[11] = std::uint8_t(c);
  return p;
}

TEST(MarkCe, Ipv4EcnCapableGetsCeAndAValidHeaderChecksum) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 10000; ++i) {
    const std::uint8_t dscp = std::uint8_t(rng() & 0xfc);
    for (std::uint8_t ect : {1, 2}) {
      auto p = ipv4_packet(dscp | ect, rng);
      const auto before = p;
      ASSERT_TRUE(mark_ce(p));
      EXPECT_EQ(p[1], dscp | 3);
      const std::uint16_t want = ipv4_checksum(p);
      ASSERT_EQ(std::uint16_t(p[10] << 8 | p[11]), want) << "tos " << int(before[1]);
      // Nothing else changed.
      for (std::size_t k = 0; k < p.size(); ++k) {
        if (k != 1 && k != 10 && k != 11) {
          ASSERT_EQ(p[k], before[k]);
        }
      }
    }
  }
}

TEST(MarkCe, NotEcnCapableIsLeftAloneAndAlreadyCeStaysCe) {
  std::mt19937_64 rng(8);
  auto not_ect = ipv4_packet(0xb8, rng);  // EF, Not-ECT
  const auto before = not_ect;
  EXPECT_FALSE(mark_ce(not_ect));
  EXPECT_EQ(not_ect, before);
  auto ce = ipv4_packet(0xbb, rng);
  const auto ce_before = ce;
  EXPECT_TRUE(mark_ce(ce));
  EXPECT_EQ(ce, ce_before);

  std::vector<std::uint8_t> v6(60, 0);
  v6[0] = 0x6b;  // traffic class 0xb_ ...
  v6[1] = 0x80;  // ... low nibble 8: DSCP bits, ECN 00 (Not-ECT)
  EXPECT_FALSE(mark_ce(v6));
  v6[1] = 0x90;  // ECN 01: ECT(1)
  EXPECT_TRUE(mark_ce(v6));
  EXPECT_EQ(v6[0], 0x6b);
  EXPECT_EQ(v6[1], 0xb0);  // ECN 11: CE, DSCP and flow label untouched

  std::vector<std::uint8_t> junk = {0x00, 0x03, 0x00};
  EXPECT_FALSE(mark_ce(junk));
}

}  // namespace
}  // namespace wgcore
