// TaskRegistry: the pipelines of one instance (pipeline.threads) over one
// state store never write a task another holds, take a task only once its
// last write has ended, and drop a task's state only when none holds it.
#include "process/task_registry.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "tests/support/test_support.h"

namespace wijkpuls {
namespace {

using std::chrono::seconds;
using TimePoint = TaskRegistry::TimePoint;

TEST(TaskRegistry, ALateWriteOfATaskAnotherPipelineTookIsRefused) {
  TaskRegistry r;
  r.Take(0, 7);
  EXPECT_TRUE(r.BeginWrite(0, {7}));
  r.EndWrite(0, true);
  // The group moves 7 to pipeline 1; pipeline 0 has not noticed (a zombie).
  r.Take(1, 7);
  EXPECT_EQ(r.Holder(7), 1);
  EXPECT_FALSE(r.BeginWrite(0, {3, 7}));
  r.EndWrite(0, false);
  EXPECT_TRUE(r.BeginWrite(1, {7}));
  r.EndWrite(1, true);
  // A task no pipeline here holds (another instance's now) may be written:
  // it is this instance's cache of it.
  EXPECT_TRUE(r.BeginWrite(0, {3}));
  r.EndWrite(0, true);
  // With several pipelines over one store, a pipeline writes only what it
  // holds: a task it loaded at start and nobody holds now may have been
  // written by another pipeline since, and its copy is stale.
  EXPECT_FALSE(r.BeginWrite(0, {3}, /*held_only=*/true));
  r.EndWrite(0, false);
  EXPECT_TRUE(r.BeginWrite(1, {7}, /*held_only=*/true));
  r.EndWrite(1, true);
  // The zombie's revoke comes late: it does not take 7 from its holder.
  r.Give(0, 7, TimePoint{});
  EXPECT_EQ(r.Holder(7), 1);
  EXPECT_FALSE(r.AnyDue(TaskRegistry::TimePoint::max(), seconds(0)));
}

TEST(TaskRegistry, TakingATaskWaitsUntilAnotherPipelinesWriteOfItHasEnded) {
  TaskRegistry r;
  r.Take(0, 4);
  ASSERT_TRUE(r.BeginWrite(0, {4}));
  std::atomic<bool> taken{false};
  std::thread t([&] {
    r.Take(1, 4);
    taken = true;
  });
  ASSERT_TRUE(testing::WaitFor([&] { return r.waiting() == 1; }, seconds(10)));
  EXPECT_FALSE(taken.load());
  EXPECT_EQ(r.Holder(4), 0);
  r.EndWrite(0, true);
  t.join();
  EXPECT_TRUE(taken.load());
  EXPECT_EQ(r.Holder(4), 1);
}

TEST(TaskRegistry, ATaskIsDroppedOnlyWhenNoPipelineHeldItForKeepAndNeverWhileOneTakesIt) {
  TaskRegistry r;
  const TimePoint t0 = std::chrono::steady_clock::now();
  const seconds keep(60);
  r.Take(0, 1);
  r.Take(1, 2);
  r.Give(1, 2, t0);
  r.Unheld(1, t0);  // held: not unheld
  r.Unheld(3, t0);
  EXPECT_FALSE(r.AnyDue(t0 + seconds(59), keep));
  EXPECT_TRUE(r.AnyDue(t0 + keep, keep));
  EXPECT_EQ(r.ClaimDrops(0, t0 + seconds(59), keep), std::vector<int32_t>{});
  // Pipeline 0 claims 2 and 3 for its next write; pipeline 1 is given 2
  // back meanwhile and waits for that write.
  EXPECT_EQ(r.ClaimDrops(0, t0 + keep, keep), (std::vector<int32_t>{2, 3}));
  EXPECT_FALSE(r.AnyDue(t0 + keep, keep));
  std::thread t([&] { r.Take(1, 2); });
  ASSERT_TRUE(testing::WaitFor([&] { return r.waiting() == 1; }, seconds(10)));
  EXPECT_EQ(r.Holder(2), -1);
  // The write is not done (its dead letters were not delivered): the drops
  // are due again, except 2, which is taken.
  r.EndWrite(0, false);
  t.join();
  EXPECT_EQ(r.Holder(2), 1);
  EXPECT_EQ(r.ClaimDrops(1, t0 + keep, keep), std::vector<int32_t>{3});
  r.EndWrite(1, true);
  EXPECT_FALSE(r.AnyDue(TimePoint::max() - seconds(1000), seconds(0)));
  // Held again by nobody: kept for `keep` from then.
  r.Give(1, 2, t0 + seconds(100));
  EXPECT_FALSE(r.AnyDue(t0 + seconds(150), keep));
  EXPECT_TRUE(r.AnyDue(t0 + seconds(160), keep));
}

}  // namespace
}  // namespace wijkpuls
