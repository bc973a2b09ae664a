// The restore logic of several instances, without a broker (issue 20; the
// design: docs/design.md, "Several instances"). Instances are record
// processors over state directories of their own; the partitions of a
// simulated season move between them at random, instances crash (losing what
// they had not committed) or lose their state directory, and each reads the
// withdrawals at its own pace. A task taken over goes on from the taker's
// stored state of it (a cache from an earlier ownership, or nothing: from the
// start) with every tombstone applied again. Whatever happened, the newest
// summary of every task, summed, is the state of one processor over all
// records, and so is each task's state.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <random>
#include <set>

#include "process/record_processor.h"
#include "score/global_stage.h"
#include "sim/simulator.h"
#include "store/state_store.h"
#include "tests/support/test_support.h"

namespace wijkpuls {
namespace {

using testing::DefaultDistricts;
using testing::DefaultMethodology;

const std::string kResponses = "wijkprofiel.responses.v1";
const std::string kWithdrawals = "wijkprofiel.withdrawals.v1";

const std::vector<sim::SimRecord>& Season() {
  static const std::vector<sim::SimRecord> s = [] {
    sim::SimOptions o;
    o.scale = 0.15;
    o.seed = 31;
    return sim::Generate(DefaultMethodology(), DefaultDistricts(), o);
  }();
  return s;
}

// The season as a log: per partition of each topic, its records in order.
struct Log {
  std::map<int32_t, std::vector<const sim::SimRecord*>> responses;
  std::vector<const sim::SimRecord*> withdrawals;  // one stream (its partitions interleaved once)
  Log() {
    for (const sim::SimRecord& r : Season()) {
      if (r.topic == kResponses) {
        responses[r.partition].push_back(&r);
      } else {
        withdrawals.push_back(&r);
      }
    }
  }
};

Pseudonymiser& Key() {
  static Pseudonymiser p = *Pseudonymiser::FromKey(std::string(32, 'k'));
  return p;
}

UnixNanos Clock() { return testing::Local("2026-06-01 00:00:00"); }

// One instance: its state directory, what it holds in memory, and the open
// batch, as the pipeline keeps them.
class Node {
 public:
  Node() : processor_(DefaultMethodology(), DefaultDistricts(), Key(), Clock, ProcessorOptions{}) { Open(); }

  // Takes `task` over: its stored state (if any) and every tombstone again.
  void Take(int32_t task) {
    owned_.insert(task);
    FieldworkState loaded;
    ASSERT_TRUE(store_->LoadTask(DefaultMethodology(), task, loaded).ok());
    if (loaded.wijken().empty()) return;
    state_.tasks[task] = std::move(loaded);
    ASSERT_TRUE(processor_.ApplyTombstones(task, *batch_, state_, dirty_).ok());
  }
  // Gives `task` away, after committing what it read of it.
  void Give(int32_t task) {
    Commit();
    owned_.erase(task);
    state_.tasks.erase(task);
  }
  // Processes up to `n` records of an owned task from where this node's
  // state has read it.
  void Read(const Log& log, int32_t task, int n) {
    const auto& records = log.responses.at(task);
    int64_t& at = offsets_[{kResponses, task}];
    for (int i = 0; i < n && at < static_cast<int64_t>(records.size()); ++i, ++at) Apply(*records[at], at);
  }
  void ReadWithdrawals(const Log& log, int n) {
    int64_t& at = offsets_[{kWithdrawals, 0}];
    for (int i = 0; i < n && at < static_cast<int64_t>(log.withdrawals.size()); ++i, ++at) {
      Apply(*log.withdrawals[at], at);
    }
  }
  void Commit() {
    const int k = static_cast<int>(DefaultMethodology().indicators.size());
    for (const auto& [task, changed] : dirty_) {
      for (const auto& [key, change] : changed) batch_->PutAggregates(task, key, *state_.tasks.at(task).Find(key), k, change);
    }
    for (const auto& [tp, next] : offsets_) batch_->PutOffset(tp.first, tp.second, next);
    ASSERT_TRUE(store_->Commit(*batch_).ok());
    batch_ = store_->NewBatch();
    dirty_.clear();
    committed_ = offsets_;
  }
  // A crash: what was not committed is gone; the node goes on from its store.
  void Crash() {
    batch_.reset();
    Reload();
  }
  // The state directory is lost while the node is down.
  void LoseState() {
    batch_.reset();
    store_.reset();
    dir_ = std::make_unique<testing::TempDir>();
    Open();
  }
  // Its tasks' summaries, at their positions, into `stage`.
  void Summarise(GlobalStage& stage) const {
    for (const auto& [task, state] : state_.tasks) {
      auto at = committed_.find({kResponses, task});
      const SummaryPosition p{at == committed_.end() ? 0 : at->second,
                              static_cast<int64_t>(state_.withdrawn.size())};
      for (const auto& [key, w] : state.wijken()) stage.Put(task, key, p, w);
    }
  }
  const std::set<int32_t>& owned() const { return owned_; }
  const TaskStates& tasks() const { return state_.tasks; }

 private:
  void Open() {
    if (!dir_) dir_ = std::make_unique<testing::TempDir>();
    StoreOptions o{dir_->File("state")};
    o.sync_writes = false;
    o.min_free_bytes = 0;
    store_ = *OpenStateStore(o);
    Reload();
  }
  void Reload() {
    batch_ = store_->NewBatch();
    dirty_.clear();
    offsets_ = *store_->LoadOffsets();
    committed_ = offsets_;
    state_ = InstanceState();
    ASSERT_TRUE(store_->LoadAggregates(DefaultMethodology(), state_.tasks).ok());
    ASSERT_TRUE(store_->LoadWithdrawn(state_.withdrawn).ok());
    std::erase_if(state_.tasks, [&](const auto& kv) { return !owned_.count(kv.first); });
    // As the pipeline after a rollback: the tombstones again on every task held.
    for (auto& [task, s] : state_.tasks) ASSERT_TRUE(processor_.ApplyTombstones(task, *batch_, state_, dirty_).ok());
  }
  void Apply(const sim::SimRecord& r, int64_t offset) {
    SourceRecord rec{r.topic, r.partition, offset, r.key, r.value, r.content_type};
    absl::StatusOr<RecordResult> result = processor_.Process(rec, *batch_, state_, dirty_);
    ASSERT_TRUE(result.ok()) << result.status();
  }

  std::unique_ptr<testing::TempDir> dir_;
  std::unique_ptr<StateStore> store_;
  RecordProcessor processor_;
  std::unique_ptr<StateBatch> batch_;
  InstanceState state_;
  TaskChanges dirty_;
  OffsetMap offsets_;    // read, with the open batch
  OffsetMap committed_;  // stored
  std::set<int32_t> owned_;
};

// The state of one processor over the whole season.
TaskStates OneProcessor() {
  testing::TempDir dir;
  auto store = *OpenStateStore(StoreOptions{dir.File("state")});
  RecordProcessor p(DefaultMethodology(), DefaultDistricts(), Key(), Clock, ProcessorOptions{});
  auto batch = store->NewBatch();
  InstanceState state;
  TaskChanges dirty;
  int64_t offset = 0;
  for (const sim::SimRecord& r : Season()) {
    SourceRecord rec{r.topic, r.partition, offset++, r.key, r.value, r.content_type};
    EXPECT_TRUE(p.Process(rec, *batch, state, dirty).ok());
  }
  return state.tasks;
}

TEST(Restore, TasksMovingBetweenCrashingInstancesEndInTheStateOfOneProcessor) {
  const Log log;
  ASSERT_GT(log.responses.size(), 4u);
  ASSERT_GT(log.withdrawals.size(), 5u);
  const TaskStates want = OneProcessor();
  for (uint64_t seed : {1u, 2u, 3u}) {
    std::mt19937_64 rng(seed);
    auto pick = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
    std::vector<std::unique_ptr<Node>> nodes;
    for (int i = 0; i < 3; ++i) nodes.push_back(std::make_unique<Node>());
    std::map<int32_t, size_t> owner;
    for (const auto& [task, records] : log.responses) {
      owner[task] = pick(nodes.size());
      nodes[owner[task]]->Take(task);
    }
    int moves = 0, crashes = 0, losses = 0;
    for (int step = 0; step < 400; ++step) {
      const size_t action = pick(20);
      if (action < 12) {  // an owner reads some of its task
        auto it = std::next(owner.begin(), static_cast<long>(pick(owner.size())));
        nodes[it->second]->Read(log, it->first, 1 + static_cast<int>(pick(40)));
      } else if (action < 15) {  // some instance reads withdrawals
        nodes[pick(nodes.size())]->ReadWithdrawals(log, 1 + static_cast<int>(pick(3)));
      } else if (action < 17) {  // a commit
        nodes[pick(nodes.size())]->Commit();
      } else if (action < 19) {  // a task moves
        auto it = std::next(owner.begin(), static_cast<long>(pick(owner.size())));
        const size_t to = pick(nodes.size());
        if (to == it->second) continue;
        nodes[it->second]->Give(it->first);
        nodes[to]->Take(it->first);
        it->second = to;
        ++moves;
      } else if (pick(4) != 0) {  // a crash
        nodes[pick(nodes.size())]->Crash();
        ++crashes;
      } else {  // a lost state directory: its tasks are read from their start
        const size_t n = pick(nodes.size());
        nodes[n]->LoseState();
        for (const auto& [task, o] : owner) {
          if (o == n) nodes[n]->Take(task);
        }
        ++losses;
      }
    }
    // Everyone reads to the end and commits.
    for (auto& n : nodes) n->ReadWithdrawals(log, 1'000'000);
    for (const auto& [task, o] : owner) nodes[o]->Read(log, task, 1'000'000);
    for (auto& n : nodes) n->Commit();
    GlobalStage stage;
    for (auto& n : nodes) n->Summarise(stage);
    EXPECT_TRUE(stage.Sum() == SumOfTasks(want)) << "seed " << seed;
    for (const auto& [task, o] : owner) {
      EXPECT_TRUE(nodes[o]->tasks().count(task) == 0 || nodes[o]->tasks().at(task) == want.at(task))
          << "seed " << seed << ", task " << task;
    }
    EXPECT_GT(moves, 5) << "seed " << seed;
    EXPECT_GT(crashes, 0) << "seed " << seed;
    std::cout << "[ restore ] seed " << seed << ": " << moves << " moves, " << crashes << " crashes, " << losses
              << " lost state directories\n";
  }
}

}  // namespace
}  // namespace wijkpuls
