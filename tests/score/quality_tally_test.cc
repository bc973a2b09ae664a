#include "score/quality_tally.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

namespace wijkpuls {
namespace {

CountedResponse Response(Mode mode, std::string interviewer, int64_t seconds) {
  CountedResponse r;
  r.mode = mode;
  r.interviewer_id = std::move(interviewer);
  r.submitted_at = 1'700'000'000LL * kNanosPerSecond;
  r.started_at = r.submitted_at - seconds * kNanosPerSecond;
  r.answers = {{0, 1}, {1, 98}, {2, 99}, {3, 97}};
  r.dropped_items = {5};
  r.unknown_items = 1;
  return r;
}

TEST(QualityTally, CountsAnswersFlagsAndDurationsPerModeAndInterviewer) {
  QualityTally t;
  CountedResponse a = Response(Mode::kPhone, "int-1", 400);
  CountedResponse b = Response(Mode::kPhone, "int-1", 100);
  b.flags.Add(QualityFlag::kSpeeder);
  t.AddCounted(a, false, +1);
  t.AddCounted(b, true, +1);
  EXPECT_EQ(t.total.accepted, 1);
  EXPECT_EQ(t.total.flagged, 1);
  EXPECT_EQ(t.total.by_flag[static_cast<int>(QualityFlag::kSpeeder)], 1);
  EXPECT_EQ(t.total.answers, 8);
  EXPECT_EQ(t.total.dont_know, 2);
  EXPECT_EQ(t.total.refused, 2);
  EXPECT_EQ(t.by_mode[static_cast<int>(Mode::kPhone)].accepted, 1);
  EXPECT_EQ(t.by_interviewer.at("int-1").flagged, 1);
  EXPECT_EQ(t.dropped_by_item.at(5), 2);
  EXPECT_EQ(t.unknown_items, 2);
}

TEST(QualityTally, RemovingAResponseRestoresTheEmptyTally) {
  QualityTally t;
  CountedResponse a = Response(Mode::kFaceToFace, "int-2", 700);
  t.AddCounted(a, false, +1);
  t.AddRejected(Attribution{}, RejectReason::kNoConsent);
  QualityTally only_rejected;
  only_rejected.AddRejected(Attribution{}, RejectReason::kNoConsent);
  t.AddCounted(a, false, -1);
  EXPECT_EQ(t, only_rejected);  // no zero entries left behind (durations, interviewers, items)
}

TEST(DurationCounts, KeepsSecondsInOrderWhateverTheOrderOfArrivalAndNoZeroCounts) {
  DurationCounts a, b;
  const std::vector<int64_t> seconds = {900, 300, 1200, 300, 45, 7200, 901, 899};
  for (int64_t s : seconds) a.Add(s, 1);
  for (auto it = seconds.rbegin(); it != seconds.rend(); ++it) b.Add(*it, 1);
  EXPECT_EQ(a, b);
  const DurationCounts::View sorted = a.Sorted();
  std::vector<DurationCounts::value_type> entries(sorted.begin(), sorted.end());
  EXPECT_EQ(entries, (std::vector<DurationCounts::value_type>{
                         {45, 1}, {300, 2}, {899, 1}, {900, 1}, {901, 1}, {1200, 1}, {7200, 1}}));
  a.Add(300, -2);  // falls to zero: erased
  a.Add(301, 0);   // absent, and nothing to add: nothing happens
  EXPECT_EQ(a.size(), 6u);
  EXPECT_EQ(a, (DurationCounts{{45, 1}, {899, 1}, {900, 1}, {901, 1}, {1200, 1}, {7200, 1}}));
}

TEST(DurationCounts, EqualsAnOrderedMapOverManyRandomAddsAndRemoves) {
  // Whatever search Add uses for a second's entry: check it against std::map
  // at every size from empty to a few hundred entries.
  DurationCounts d;
  std::map<int64_t, int64_t> model;
  std::mt19937_64 rng(7);
  for (int i = 0; i < 20'000; ++i) {
    const int64_t secs = static_cast<int64_t>(rng() % 400);
    // Mostly adds; removes only what is there, as withdrawals do.
    const bool remove = rng() % 3 == 0 && model.count(secs) > 0;
    const int64_t n = remove ? -1 : 1;
    d.Add(secs, n);
    if ((model[secs] += n) == 0) model.erase(secs);
    ASSERT_EQ(d.size(), model.size()) << "after step " << i;
    ASSERT_EQ(d.empty(), model.empty()) << "after step " << i;
    if (i % 97 == 0) {
      // Read with adds still unmerged (the tail), and a copy taken then.
      const DurationCounts copy = d;
      const DurationCounts::View view = copy.Sorted();
      ASSERT_EQ(std::vector<DurationCounts::value_type>(view.begin(), view.end()),
                (std::vector<DurationCounts::value_type>(model.begin(), model.end())))
          << "after step " << i;
      ASSERT_EQ(copy, d);
    }
  }
  const DurationCounts::View view = d.Sorted();
  std::vector<DurationCounts::value_type> entries(view.begin(), view.end());
  EXPECT_EQ(entries, (std::vector<DurationCounts::value_type>(model.begin(), model.end())));
  // Merging the tail changes nothing a reader sees.
  DurationCounts settled = d;
  settled.Settle();
  EXPECT_EQ(settled, d);
  // Adds that cancel inside the tail leave nothing behind.
  DurationCounts cancel;
  for (int i = 0; i < 5; ++i) cancel.Add(100 + i, 1);
  for (int i = 0; i < 5; ++i) cancel.Add(100 + i, -1);
  EXPECT_TRUE(cancel.empty());
  EXPECT_EQ(cancel, DurationCounts{});
  EXPECT_EQ(cancel.size(), 0u);
}

TEST(DurationCounts, AddingAnotherEqualsAddingItsEntriesOneByOne) {
  std::mt19937_64 rng(11);
  for (int round = 0; round < 200; ++round) {
    DurationCounts a, b, one_by_one;
    for (int i = rng() % 40; i > 0; --i) a.Add(static_cast<int64_t>(rng() % 60), 1);
    // b as a change: positive and negative counts, some cancelling a's.
    for (int i = rng() % 40; i > 0; --i) {
      b.Add(static_cast<int64_t>(rng() % 60), rng() % 2 == 0 ? 1 : -1);
    }
    one_by_one = a;
    for (const auto& [secs, n] : b.Sorted()) one_by_one.Add(secs, n);
    a.Add(b);
    ASSERT_EQ(a, one_by_one) << "round " << round;
    for (const auto& [secs, n] : a.Sorted()) ASSERT_NE(n, 0) << "round " << round;
  }
}

// The store writes each batch's change to a quality tally and RocksDB adds
// the changes up (on read, flush and compaction, in groups it chooses): any
// grouping and order must give the tally itself.
TEST(QualityTally, TheChangesOfEveryBatchAddUpToTheTallyInAnyOrderAndGrouping) {
  std::mt19937_64 rng(5);
  std::vector<CountedResponse> responses;
  for (int i = 0; i < 300; ++i) {
    CountedResponse r = Response(static_cast<Mode>(rng() % kModeCount),
                                 rng() % 4 == 0 ? "" : "int-" + std::to_string(rng() % 6),
                                 200 + static_cast<int64_t>(rng() % 50));
    if (rng() % 5 == 0) r.flags.Add(QualityFlag::kSpeeder);
    if (rng() % 3 == 0) r.dropped_items = {static_cast<uint16_t>(rng() % 4)};
    responses.push_back(std::move(r));
  }
  QualityTally tally;
  std::vector<QualityTally> changes(1);
  std::vector<size_t> counted;
  for (int step = 0; step < 2000; ++step) {
    if (rng() % 25 == 0) changes.emplace_back();  // the next batch
    QualityTally& change = changes.back();
    const uint64_t what = rng() % 10;
    if (what < 6 || counted.empty()) {
      const size_t i = rng() % responses.size();
      const bool flagged = !responses[i].flags.Empty();
      tally.AddCounted(responses[i], flagged, +1);
      change.AddCounted(responses[i], flagged, +1);
      counted.push_back(i);
    } else if (what < 9) {
      // A withdrawal: a counted response removed again.
      const size_t at = rng() % counted.size();
      const size_t i = counted[at];
      counted.erase(counted.begin() + static_cast<std::ptrdiff_t>(at));
      const bool flagged = !responses[i].flags.Empty();
      tally.AddCounted(responses[i], flagged, -1);
      change.AddCounted(responses[i], flagged, -1);
    } else {
      Attribution a;
      a.mode = static_cast<Mode>(rng() % kModeCount);
      a.interviewer_id = "int-" + std::to_string(rng() % 8);
      tally.AddRejected(a, RejectReason::kNoConsent);
      change.AddRejected(a, RejectReason::kNoConsent);
    }
  }
  // Withdraw everything in a last batch, so that entries fall to zero too.
  QualityTally emptied = tally;
  QualityTally last;
  for (size_t i : counted) {
    const bool flagged = !responses[i].flags.Empty();
    emptied.AddCounted(responses[i], flagged, -1);
    last.AddCounted(responses[i], flagged, -1);
  }
  ASSERT_GT(changes.size(), 40u);

  QualityTally in_order;
  for (const QualityTally& c : changes) in_order.Add(c);
  EXPECT_EQ(in_order, tally);

  for (int round = 0; round < 20; ++round) {
    std::vector<QualityTally> shuffled = changes;
    std::shuffle(shuffled.begin(), shuffled.end(), rng);
    // Partial sums of random runs of changes first, then those sums.
    std::vector<QualityTally> partial;
    for (size_t i = 0; i < shuffled.size();) {
      QualityTally sum;
      for (size_t n = 1 + rng() % 5; n > 0 && i < shuffled.size(); --n) sum.Add(shuffled[i++]);
      partial.push_back(std::move(sum));
    }
    QualityTally total;
    for (const QualityTally& p : partial) total.Add(p);
    ASSERT_EQ(total, tally) << "round " << round;
    total.Add(last);
    ASSERT_EQ(total, emptied) << "round " << round;
  }
  // Only rejections are left: no group, duration or item entry at zero.
  for (const auto& [id, g] : emptied.by_interviewer) {
    EXPECT_EQ(g.accepted + g.flagged, 0) << id;
    EXPECT_TRUE(g.durations.empty()) << id;
  }
  EXPECT_TRUE(emptied.total.durations.empty());
  EXPECT_TRUE(emptied.dropped_by_item.empty());
}

TEST(QualityTally, QuartilesUseTheNearestRank) {
  // 1..8: Q1 = 2nd value, median = 4th, Q3 = 6th.
  DurationCounts d;
  for (int64_t s = 1; s <= 8; ++s) d.Add(s * 100, 1);
  std::optional<Quartiles> q = DurationQuartiles(d);
  ASSERT_TRUE(q);
  EXPECT_EQ(q->q1, 200);
  EXPECT_EQ(q->median, 400);
  EXPECT_EQ(q->q3, 600);
  EXPECT_EQ(q->count, 8);
  // Repeated values: {10 x3, 20 x1}: ranks 1, 2, 3 -> 10, 10, 10.
  q = DurationQuartiles({{10, 3}, {20, 1}});
  EXPECT_EQ(q->q1, 10);
  EXPECT_EQ(q->median, 10);
  EXPECT_EQ(q->q3, 10);
  EXPECT_FALSE(DurationQuartiles({}));
  q = DurationQuartiles({{42, 1}});
  EXPECT_EQ(q->q1, 42);
  EXPECT_EQ(q->q3, 42);
}

}  // namespace
}  // namespace wijkpuls
