// Outcomes and state are functions of the records, not of the order in which
// partitions and topics are interleaved: the same season fed twice, and fed
// with its partitions (and the withdrawals topic) interleaved differently,
// gives identical outcomes and bit-identical aggregates.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <numeric>
#include <random>

#include "process/record_processor.h"
#include "publish/views.h"
#include "score/global_stage.h"
#include "sim/simulator.h"
#include "tests/support/test_support.h"
#include "store/state_store.h"

namespace wijkpuls {
namespace {

using testing::DefaultDistricts;
using testing::DefaultMethodology;

struct Outcomes {
  FieldworkState state;  // summed over the tasks
  TaskStates tasks;
  std::map<size_t, std::pair<Outcome, std::optional<RejectReason>>> outcomes;  // by season index
};

// Feeds records in the given order through the record processor, committing
// every 500 records, on a fresh state directory.
Outcomes Feed(const std::vector<sim::SimRecord>& season, const std::vector<size_t>& order, int passes = 1) {
  testing::TempDir dir;
  auto store = *OpenStateStore(StoreOptions{dir.File("state")});
  Pseudonymiser p = *Pseudonymiser::FromKey(std::string(32, 'k'));
  RecordProcessor processor(DefaultMethodology(), DefaultDistricts(), p, [] { return testing::Local("2026-06-01 00:00:00"); },
                            ProcessorOptions{});
  Outcomes run;
  InstanceState instance;
  TaskChanges dirty;
  auto batch = store->NewBatch();
  int in_batch = 0;
  for (int pass = 0; pass < passes; ++pass) {
    for (size_t i : order) {
      const sim::SimRecord& r = season[i];
      SourceRecord rec{r.topic, r.partition, static_cast<int64_t>(i), r.key, r.value, r.content_type};
      absl::StatusOr<RecordResult> result = processor.Process(rec, *batch, instance, dirty);
      EXPECT_TRUE(result.ok()) << result.status();
      if (pass == 0 && result->kind == RecordKind::kResponse) run.outcomes[i] = {result->outcome, result->reason};
      if (pass > 0) {
        EXPECT_TRUE(result->outcome == Outcome::kDuplicate || result->kind == RecordKind::kWithdrawal ||
                    !IsValidResponseId(result->response_id))
            << i;
      }
      if (++in_batch == 500) {
        EXPECT_TRUE(store->Commit(*batch).ok());
        batch = store->NewBatch();
        in_batch = 0;
      }
    }
  }
  EXPECT_TRUE(store->Commit(*batch).ok());
  run.tasks = instance.tasks;
  run.state = SumOfTasks(instance.tasks);
  return run;
}

// A different interleaving that keeps the order within every partition.
std::vector<size_t> Interleave(const std::vector<sim::SimRecord>& season, uint64_t seed) {
  std::map<std::pair<std::string, int32_t>, std::vector<size_t>> queues;
  for (size_t i = 0; i < season.size(); ++i) queues[{season[i].topic, season[i].partition}].push_back(i);
  std::vector<std::pair<std::vector<size_t>*, size_t>> open;
  for (auto& [tp, q] : queues) open.push_back({&q, 0});
  std::mt19937_64 rng(seed);
  std::vector<size_t> order;
  while (!open.empty()) {
    const size_t k = std::uniform_int_distribution<size_t>(0, open.size() - 1)(rng);
    auto& [q, pos] = open[k];
    // Take a run of records from one partition, like a fetch response.
    const size_t run = std::uniform_int_distribution<size_t>(1, 200)(rng);
    for (size_t j = 0; j < run && pos < q->size(); ++j) order.push_back((*q)[pos++]);
    if (pos == q->size()) open.erase(open.begin() + static_cast<long>(k));
  }
  return order;
}

const std::vector<sim::SimRecord>& Season() {
  static const std::vector<sim::SimRecord> s = [] {
    sim::SimOptions o;
    o.scale = 0.3;
    o.seed = 5;
    return sim::Generate(DefaultMethodology(), DefaultDistricts(), o);
  }();
  return s;
}

TEST(Determinism, TheSameSeasonFedTwiceGivesIdenticalOutcomesAndState) {
  std::vector<size_t> order(Season().size());
  std::iota(order.begin(), order.end(), 0);
  Outcomes a = Feed(Season(), order);
  Outcomes b = Feed(Season(), order);
  EXPECT_TRUE(a.state == b.state);
  EXPECT_EQ(a.outcomes, b.outcomes);
}

TEST(Determinism, ASeasonRedeliveredIntoTheSameStateIsAllDuplicates) {
  std::vector<size_t> order(Season().size());
  std::iota(order.begin(), order.end(), 0);
  Outcomes once = Feed(Season(), order);
  Outcomes twice = Feed(Season(), order, 2);  // the second pass checks every record is a duplicate
  // Records without a usable response_id cannot be recognised; they are
  // counted (as rejected) under no wave or wijk, and nothing else changes.
  for (const auto& [key, w] : once.state.wijken()) {
    if (key.wave.empty()) continue;
    ASSERT_NE(twice.state.Find(key), nullptr);
    EXPECT_TRUE(*w == *twice.state.Find(key)) << key.wave << "/" << key.wijk;
  }
}

TEST(Determinism, AnotherInterleavingOfPartitionsGivesTheSameOutcomesAndState) {
  std::vector<size_t> natural(Season().size());
  std::iota(natural.begin(), natural.end(), 0);
  Outcomes a = Feed(Season(), natural);
  for (uint64_t seed : {1u, 2u}) {
    Outcomes b = Feed(Season(), Interleave(Season(), seed));
    EXPECT_TRUE(a.state == b.state) << "seed " << seed;
    // Per record: identical, except responses of a respondent who withdrew,
    // which are either counted-then-erased or WITHDRAWN depending on the order.
    int differing = 0;
    for (const auto& [i, outcome] : a.outcomes) {
      if (b.outcomes.at(i) == outcome) continue;
      EXPECT_TRUE(Season()[i].expected.withdrawn_respondent) << i;
      ++differing;
    }
    EXPECT_LE(differing, sim::Summarise(Season()).order_dependent_records);
    // And the published views are equal bit for bit.
    const Wave& wave = *DefaultMethodology().FindWave("2024");
    ViewContext ctx{DefaultMethodology(), DefaultDistricts(), true, "Rotterdam"};
    for (const UnitRef& u : AllUnits(DefaultDistricts(), "Rotterdam")) {
      ASSERT_EQ(ComputeScores(u, a.state, wave, ctx).SerializeAsString(),
                ComputeScores(u, b.state, wave, ctx).SerializeAsString())
          << u.level << "/" << u.unit;
    }
  }
}

// The global stage's premise (docs/design.md, "Several instances"): a task
// per responses partition, each given its partition's responses and every
// withdrawal (withdrawals reach every owner), makes states whose sum is the
// state one pipeline makes of all records: every quota cell, statistic,
// quality count and watermark, and so every published view.
TEST(Determinism, TheSumOfPerPartitionStatesIsTheStateOfOnePipeline) {
  const std::vector<sim::SimRecord>& season = Season();
  std::vector<size_t> all(season.size());
  std::iota(all.begin(), all.end(), 0);
  const Outcomes whole = Feed(season, all);
  std::map<int32_t, std::vector<size_t>> by_task;
  int withdrawals = 0;
  for (size_t i = 0; i < season.size(); ++i) {
    if (season[i].topic == "wijkprofiel.responses.v1") {
      by_task[season[i].partition].push_back(i);
    } else {
      ++withdrawals;
    }
  }
  ASSERT_GT(by_task.size(), 4u);
  ASSERT_GT(withdrawals, 10);
  for (auto& [task, order] : by_task) {
    for (size_t i = 0; i < season.size(); ++i) {
      if (season[i].topic != "wijkprofiel.responses.v1") order.push_back(i);  // after its responses
    }
  }
  GlobalStage stage;
  for (const auto& [task, order] : by_task) {
    const Outcomes part = Feed(season, order);
    // A task's state is the same whatever other tasks its instance holds:
    // it can move between instances.
    ASSERT_EQ(part.tasks.size(), 1u);
    EXPECT_TRUE(part.tasks.at(task) == whole.tasks.at(task)) << "task " << task;
    for (const auto& [key, state] : part.state.wijken()) {
      ASSERT_TRUE(stage.Put(task, key, SummaryPosition{static_cast<int64_t>(order.size()), withdrawals}, state));
    }
  }
  const FieldworkState sum = stage.Sum();
  EXPECT_EQ(sum.wijken().size(), whole.state.wijken().size());
  for (const auto& [key, state] : whole.state.wijken()) {
    ASSERT_NE(sum.Find(key), nullptr) << key.wave << "/" << key.wijk;
    EXPECT_TRUE(*sum.Find(key) == *state) << key.wave << "/" << key.wijk;
  }
  EXPECT_TRUE(sum == whole.state);
}

}  // namespace
}  // namespace wijkpuls
