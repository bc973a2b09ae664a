// The global stage: per-wijk summaries of several tasks are added up exactly,
// and a task's older summary never replaces a newer one.
#include "score/global_stage.h"
#include "score/aggregates_codec.h"

#include <gtest/gtest.h>

#include "tests/support/test_support.h"

namespace wijkpuls {
namespace {

WijkState Part(int64_t accepted, int64_t day, int64_t stat_n, UnixNanos watermark, const std::string& interviewer) {
  WijkState s;
  s.cells[3].accepted = accepted;
  s.cells[3].rejected = 1;
  s.days[static_cast<DayNumber>(day)].accepted[0] = accepted;
  s.stats.resize(4);
  s.stats[2].n = stat_n;
  s.stats[2].sum = 3 * stat_n;
  s.stats[2].sumsq = 9 * stat_n;
  s.watermark = watermark;
  CountedResponse r;
  r.interviewer_id = interviewer;
  r.submitted_at = watermark;
  r.started_at = watermark - 600 * kNanosPerSecond;
  s.quality.AddCounted(r, false, +1);
  return s;
}

TEST(GlobalStage, TheSummariesOfAWijkAreAddedUpExactly) {
  const WijkState a = Part(5, 100, 4, 1000, "int-1");
  const WijkState b = Part(7, 101, 2, 3000, "int-2");
  WijkState sum = a;
  AddInto(sum, b);
  EXPECT_EQ(sum.cells[3].accepted, 12);
  EXPECT_EQ(sum.cells[3].rejected, 2);
  EXPECT_EQ(sum.days.size(), 2u);
  EXPECT_EQ(sum.stats[2].n, 6);
  EXPECT_EQ(sum.stats[2].sumsq, 54);
  EXPECT_EQ(sum.watermark, 3000);
  QualityTally q = a.quality;
  q.Add(b.quality);
  EXPECT_EQ(sum.quality, q);
  EXPECT_EQ(sum.quality.by_interviewer.size(), 2u);
  // A part with no statistics yet adds none, and into an empty state the
  // part's are taken whole.
  WijkState empty;
  AddInto(empty, a);
  EXPECT_EQ(empty, a);
  WijkState more = a;
  AddInto(more, WijkState{});
  EXPECT_EQ(more, a);

  GlobalStage stage;
  const StateKey key{"2024", "cool"};
  ASSERT_TRUE(stage.Put(0, key, {10, 0}, std::make_shared<WijkState>(a)));
  ASSERT_TRUE(stage.Put(5, key, {20, 1}, std::make_shared<WijkState>(b)));
  ASSERT_TRUE(stage.Put(5, StateKey{"2024", "noord"}, {20, 1}, std::make_shared<WijkState>(b)));
  const FieldworkState total = stage.Sum();
  ASSERT_NE(total.Find(key), nullptr);
  EXPECT_EQ(*total.Find(key), sum);
  EXPECT_EQ(*total.Find(StateKey{"2024", "noord"}), b);
  EXPECT_EQ(total.Watermark("2024"), 3000);
  stage.DropTask(5);
  EXPECT_EQ(*stage.Sum().Find(key), a);
  EXPECT_EQ(stage.Sum().Find(StateKey{"2024", "noord"}), nullptr);
}

// A zombie (an owner that kept running after its partition moved) writes a
// summary from an older position after the new owner's: it is not taken.
TEST(GlobalStage, AnOlderSummaryOfATaskNeverReplacesANewerOne) {
  GlobalStage stage;
  const StateKey key{"2024", "cool"};
  const WijkState newer = Part(9, 100, 4, 2000, "int-1");
  const WijkState older = Part(5, 100, 2, 1000, "int-1");
  ASSERT_TRUE(stage.Put(3, key, {500, 7}, std::make_shared<WijkState>(newer)));
  EXPECT_FALSE(stage.Put(3, key, {400, 9}, std::make_shared<WijkState>(older)));
  EXPECT_FALSE(stage.Put(3, key, {500, 6}, std::make_shared<WijkState>(older)));
  EXPECT_EQ(*stage.Sum().Find(key), newer);
  // The same position again (another owner computed the same prefix) and a
  // later one are taken.
  EXPECT_TRUE(stage.Put(3, key, {500, 7}, std::make_shared<WijkState>(newer)));
  EXPECT_TRUE(stage.Put(3, key, {501, 7}, std::make_shared<WijkState>(older)));
  EXPECT_EQ(*stage.Sum().Find(key), older);
  EXPECT_EQ(stage.Positions().at(3), (SummaryPosition{501, 7}));
}

// A summary travels whole through the summaries topic: every count, day,
// statistic, quality entry and the watermark, with its task, key and
// position; a value that is not a summary is refused, not summed.
TEST(GlobalStage, ASummaryDecodesToWhatWasEncoded) {
  WijkState w = Part(5, 100, 4, 1000, "int-1");
  AddInto(w, Part(2, 104, 0, 900, "int-2"));
  w.stats.resize(static_cast<size_t>(kCellCount) * 2);
  w.stats[9].n = 3;
  w.stats[9].sumsq = 27;
  w.quality.dropped_by_item[4] = 2;
  const StateKey key{"2024", "cool"};
  const std::string bytes = EncodeSummary(7, key, SummaryPosition{1234, 5}, w, 2, "node-a");
  absl::StatusOr<Summary> back = DecodeSummary(bytes, 2);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->task, 7);
  EXPECT_EQ(back->key, key);
  EXPECT_EQ(back->position, (SummaryPosition{1234, 5}));
  EXPECT_EQ(*back->state, w);
  EXPECT_EQ(SummaryKey(7, key), "7/2024/cool");
  EXPECT_FALSE(DecodeSummary("not a summary \xff", 2).ok());
  // Statistics of another methodology (indicator count) are not summed in.
  EXPECT_FALSE(DecodeSummary(bytes, 3).ok());
}

}  // namespace
}  // namespace wijkpuls
