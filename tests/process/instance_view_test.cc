// InstanceView: the pipelines of one instance (pipeline.threads) show one
// state: every pipeline's written summaries added up, the tasks and
// partitions each holds, and no summary older than one it already has.
#include "process/instance_view.h"

#include <gtest/gtest.h>

#include "tests/support/test_support.h"

namespace wijkpuls {
namespace {

std::shared_ptr<const WijkState> Accepted(int64_t n) {
  auto s = std::make_shared<WijkState>();
  s->cells[0].accepted = n;
  return s;
}

std::shared_ptr<CommittedState> Part(int32_t task, int64_t offset, int64_t withdrawals_offset, int64_t records) {
  auto p = std::make_shared<CommittedState>();
  p->tasks[task] = FieldworkState{};
  p->task_positions[task] = SummaryPosition{offset, 0};
  p->owned = std::set<int32_t>{task};
  p->input_partitions = 4;
  p->offsets[{"responses", task}] = offset;
  p->offsets[{"withdrawals", 0}] = withdrawals_offset;
  p->records_committed = records;
  return p;
}

int64_t AcceptedIn(const CommittedState& cs, const StateKey& key) {
  const WijkState* w = cs.state.Find(key);
  return w == nullptr ? -1 : w->cells[0].accepted;
}

TEST(InstanceView, ThePipelinesWrittenSummariesAndPartsMakeOneState) {
  StateHub hub;
  InstanceView view(hub);
  const StateKey key{"2024", "cool"};
  view.Publish(0, Part(1, 100, 7, 100), {Summary{1, key, {100, 0}, Accepted(3)}});
  view.Publish(1, Part(2, 50, 5, 55), {Summary{2, key, {50, 0}, Accepted(4)}});
  std::shared_ptr<const CommittedState> cs = hub.Current();
  ASSERT_NE(cs, nullptr);
  EXPECT_EQ(AcceptedIn(*cs, key), 7);  // both tasks' summaries of the wijk
  EXPECT_EQ(cs->tasks.size(), 2u);
  EXPECT_EQ(cs->owned, (std::set<int32_t>{1, 2}));
  EXPECT_EQ(cs->records_committed, 155);
  EXPECT_EQ(cs->offsets.at({"responses", 1}), 100);
  EXPECT_EQ(cs->offsets.at({"responses", 2}), 50);
  // A topic both read (the withdrawals): as far as both have it.
  EXPECT_EQ(cs->offsets.at({"withdrawals", 0}), 5);
  const uint64_t version = cs->version;

  // An older summary (a zombie's, or one read back) changes nothing and
  // publishes nothing; a newer one from the topic does.
  view.Offer({Summary{2, key, {40, 0}, Accepted(1)}});
  EXPECT_EQ(hub.Current()->version, version);
  view.Offer({Summary{3, key, {9, 0}, Accepted(10)}});
  EXPECT_EQ(AcceptedIn(*hub.Current(), key), 17);
  EXPECT_GT(hub.Current()->version, version);

  // Task 2 moves from pipeline 1 to pipeline 0: 1's part no longer holds
  // it, and 0's newer summary replaces 1's.
  view.Publish(1, std::make_shared<CommittedState>(), {});
  auto moved = Part(1, 120, 7, 130);
  moved->tasks[2] = FieldworkState{};
  moved->owned->insert(2);
  view.Publish(0, moved, {Summary{2, key, {60, 0}, Accepted(6)}});
  cs = hub.Current();
  EXPECT_EQ(AcceptedIn(*cs, key), 3 + 6 + 10);
  EXPECT_EQ(cs->owned, (std::set<int32_t>{1, 2}));
  EXPECT_EQ(cs->records_committed, 130);
}

TEST(InstanceView, WithOnePipelineItsPartIsTheInstancesState) {
  StateHub hub;
  InstanceView view(hub);
  const StateKey key{"2024", "noord"};
  auto part = Part(0, 10, 1, 10);
  const CommittedState* raw = part.get();
  view.Publish(0, part, {Summary{0, key, {10, 0}, Accepted(2)}});
  EXPECT_EQ(hub.Current().get(), raw);  // not copied
  EXPECT_EQ(AcceptedIn(*hub.Current(), key), 2);
  EXPECT_EQ(hub.Current()->reflected.at(0), (SummaryPosition{10, 0}));
}

}  // namespace
}  // namespace wijkpuls
