// The pipeline loop with a scripted source and dead-letter sink: group
// commit, offsets stored with the state, restart without reprocessing, and
// dead letters delivered before the offsets that passed them.
#include "process/pipeline.h"
#include "process/dead_letters.h"
#include "process/file_source.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "sim/simulator.h"
#include "tests/support/test_support.h"
#include "store/state_store.h"
#include "wijkpuls/v1/wijkpuls.pb.h"

namespace wijkpuls {
namespace {

using testing::DefaultDistricts;
using testing::DefaultMethodology;
using testing::Local;

struct Scripted {
  std::string topic = "wijkprofiel.responses.v1";
  int32_t partition = 0;
  std::string value;
};

// Two partitions of scripted records; Rewind and assignment like a consumer.
class ScriptedSource : public RecordSource {
 public:
  ScriptedSource(std::vector<Scripted> records, AssignmentHandler* handler) : handler_(handler) {
    for (Scripted& r : records) by_partition_[r.partition].push_back(std::move(r));
  }
  std::optional<SourceRecord> Poll(std::chrono::milliseconds) override {
    if (!assigned_) {
      assigned_ = true;
      Rewind(handler_->OnAssign({}));
    }
    if (polled_ == rebalance_after) {
      // A rebalance, from within Poll as librdkafka calls it.
      rebalance_after = -1;
      handler_->OnRevoke({});
      if (on_revoked) on_revoked(polled_);
      Rewind(handler_->OnAssign({}));
    }
    // Round-robin over partitions, like a consumer interleaving fetches.
    for (size_t tries = 0; tries < by_partition_.size(); ++tries) {
      auto it = by_partition_.begin();
      std::advance(it, static_cast<long>(turn_++ % by_partition_.size()));
      int64_t& pos = position_[it->first];
      if (pos < static_cast<int64_t>(it->second.size())) {
        const Scripted& s = it->second[static_cast<size_t>(pos)];
        ++polled_;
        return SourceRecord{s.topic, it->first, pos++, "cool", s.value, ""};
      }
    }
    return std::nullopt;
  }
  void Rewind(const OffsetMap& offsets) override {
    for (auto& [p, records] : by_partition_) {
      auto it = offsets.find({"wijkprofiel.responses.v1", p});
      position_[p] = it == offsets.end() ? 0 : it->second;
    }
  }
  void Committed(const OffsetMap&) override {}
  bool AtEnd() const override {
    for (const auto& [p, records] : by_partition_) {
      auto it = position_.find(p);
      if (it == position_.end() || it->second < static_cast<int64_t>(records.size())) return false;
    }
    return assigned_;
  }
  std::vector<PartitionProgress> Progress() const override { return {}; }
  bool Assigned() const override { return assigned_; }
  void Close() override { handler_->OnRevoke({}); }
  int64_t polled() const { return polled_; }
  int64_t rebalance_after = -1;                  // revoke and assign again after this many polls
  std::function<void(int64_t polled)> on_revoked;  // called after the revoke

 private:
  AssignmentHandler* handler_;
  std::map<int32_t, std::vector<Scripted>> by_partition_;
  std::map<int32_t, int64_t> position_;
  bool assigned_ = false;
  size_t turn_ = 0;
  int64_t polled_ = 0;
};

// Delivers, or fails the first `failures` flushes. Send runs on the pipeline
// thread while a flush runs on the commit thread.
class ScriptedDeadLetters : public DeadLetterSink {
 public:
  void Send(OutgoingRecord r) override {
    std::lock_guard<std::mutex> lock(mu_);
    pending_.emplace_back(++sent_, std::move(r));
    sent_cv_.notify_all();
  }
  uint64_t Mark() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return sent_;
  }
  absl::Status FlushUpTo(std::chrono::milliseconds, uint64_t mark) override {
    if (hold_until_sent > 0) {
      // The first flush waits (up to 10 s) until that many letters were sent.
      std::unique_lock<std::mutex> lock(mu_);
      sent_cv_.wait_for(lock, std::chrono::seconds(10), [&] { return sent_ >= hold_until_sent; });
      sent_while_held = sent_;
      hold_until_sent = 0;
    }
    if (failures > 0) {
      --failures;
      ++failed_;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));  // an attempt takes time
      return absl::UnavailableError("scripted outage");
    }
    std::lock_guard<std::mutex> lock(mu_);
    while (!pending_.empty() && pending_.front().first <= mark) {
      for (const auto& [k, v] : pending_.front().second.headers) {
        if (k == "wijkpuls-source") delivered_.insert(v);
      }
      pending_.pop_front();
    }
    return absl::OkStatus();
  }
  size_t Pending() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return pending_.size();
  }
  void Discard() override {
    std::lock_guard<std::mutex> lock(mu_);
    pending_.clear();
  }
  uint64_t Failures() const override { return failed_; }
  // "topic/partition/offset"
  bool Delivered(const std::string& source) const {
    std::lock_guard<std::mutex> lock(mu_);
    return delivered_.count(source) > 0;
  }
  std::set<std::string> DeliveredSet() const {
    std::lock_guard<std::mutex> lock(mu_);
    return delivered_;
  }
  size_t DeliveredCount() const {
    std::lock_guard<std::mutex> lock(mu_);
    return delivered_.size();
  }
  std::atomic<int> failures = 0;
  uint64_t hold_until_sent = 0;  // set before the run
  uint64_t sent_while_held = 0;

 private:
  mutable std::mutex mu_;
  std::condition_variable sent_cv_;
  std::set<std::string> delivered_;
  std::deque<std::pair<uint64_t, OutgoingRecord>> pending_;
  uint64_t sent_ = 0;
  std::atomic<uint64_t> failed_ = 0;
};

// Checks after every commit that no stored offset passed an undelivered rejection.
class CommitWatcher : public PipelineObserver {
 public:
  std::function<void()> after_commit;
  void OnRecord(const std::string&, const RecordResult&) override {}
  void OnBatchCommitted(int records, double) override {
    batches.push_back(records);
    if (after_commit) after_commit();
  }
  void OnPartitions(const std::vector<PartitionStatus>&) override {}
  void OnDeadLetters(size_t, uint64_t) override {}
  void OnStorageError() override {}
  void OnRollback() override { ++rollbacks; }
  std::vector<int> batches;
  int rollbacks = 0;
};

std::string Response(int i, bool consent) {
  v1::SurveyResponse m;
  m.set_response_id("r-" + std::to_string(i));
  m.set_respondent_ref("INV-" + std::to_string(i));
  m.set_wave("2024");
  m.set_instrument(v1::VEILIGHEIDSMONITOR);
  m.set_wijk("cool");
  m.set_mode(v1::PAPER);
  m.mutable_submitted_at()->set_seconds(Local("2023-04-12 12:00:00") / kNanosPerSecond + i);
  m.set_age_band(v1::AGE_30_44);
  m.set_sex(v1::FEMALE);
  m.set_consent(consent);
  for (int item = 1; item <= 14; ++item) {
    auto* a = m.add_answers();
    a->set_item(item < 10 ? "V0" + std::to_string(item) : "V" + std::to_string(item));
    a->set_value(1 + (i + item) % 3);
  }
  return m.SerializeAsString();
}

// A simulated season's responses (two partitions).
std::vector<Scripted> SimulatedSeason() {
  sim::SimOptions o;
  o.scale = 0.05;
  o.seed = 9;
  std::vector<Scripted> out;
  for (const sim::SimRecord& r : sim::Generate(DefaultMethodology(), DefaultDistricts(), o)) {
    if (r.topic != "wijkprofiel.responses.v1" || !r.content_type.empty()) continue;
    out.push_back(Scripted{r.topic, r.partition % 2, r.value});
  }
  return out;
}

// 20 records over two partitions; every 5th one without consent (rejected).
std::vector<Scripted> Season() {
  std::vector<Scripted> out;
  for (int i = 0; i < 20; ++i) out.push_back(Scripted{"wijkprofiel.responses.v1", i % 2, Response(i, i % 5 != 0)});
  return out;
}

struct Rig {
  testing::TempDir dir;
  std::unique_ptr<StateStore> store;
  Pseudonymiser pseudonymiser = *Pseudonymiser::FromKey(std::string(32, 'k'));
  ScriptedDeadLetters dead;
  StateHub hub;
  Health health;
  CommitWatcher watcher;

  std::unique_ptr<Pipeline> Make(PipelineOptions po) {
    if (!store) store = *OpenStateStore(StoreOptions{dir.File("state")});
    auto p = std::make_unique<Pipeline>(
        *store, std::make_shared<const Methodology>(DefaultMethodology()),
        std::make_shared<const DistrictRegister>(DefaultDistricts()), pseudonymiser,
        [] { return Local("2026-01-01 00:00:00"); }, ProcessorOptions{}, dead, hub, health, &watcher, po);
    EXPECT_TRUE(p->Start().ok());
    return p;
  }
};

PipelineOptions Batches(int records) {
  PipelineOptions po;
  po.max_batch_records = records;
  po.linger = std::chrono::milliseconds(60000);
  po.exit_at_end = true;
  po.dead_letter_wait = std::chrono::milliseconds(1);
  po.retry_backoff = std::chrono::milliseconds(5);
  return po;
}

// A stored state that contradicts itself (here a claim whose counted response
// is stored nowhere, met by a withdrawal) is not a read that failed: the
// pipeline stops with what to do instead of redoing the batch for ever, and
// writes nothing of it.
TEST(Pipeline, AnInconsistentStoredStateStopsThePipelineAndWritesNothing) {
  Rig rig;
  rig.store = *OpenStateStore(StoreOptions{rig.dir.File("state")});
  {
    std::unique_ptr<StateBatch> b = rig.store->NewBatch();
    b->PutRespondent(0, "2024", "cool", rig.pseudonymiser.Of("2024", "INV-77"),
                     RespondentRecord{RespondentState::kClaimed, "r-gone", {}, {}});
    ASSERT_TRUE(rig.store->Commit(*b).ok());
  }
  v1::Withdrawal w;
  w.set_respondent_ref("INV-77");
  w.set_wave("2024");
  w.set_wijk("cool");
  std::unique_ptr<Pipeline> p = rig.Make(Batches(100));
  ScriptedSource source({Scripted{"wijkprofiel.responses.v1", 0, Response(1, true)},
                         Scripted{"wijkprofiel.withdrawals.v1", 0, w.SerializeAsString()}},
                        p.get());
  std::atomic<bool> stop{false};
  const absl::Status st = p->Run(source, stop);
  EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss) << st;
  EXPECT_TRUE(Contains(std::string(st.message()), "the stored state is inconsistent")) << st;
  EXPECT_TRUE(Contains(std::string(st.message()), "r-gone")) << st;
  std::vector<std::string> problems;
  EXPECT_FALSE(rig.health.Ready(&problems));
  EXPECT_TRUE(!problems.empty() && Contains(problems[0], "storage: the stored state is inconsistent")) << Join(problems, "; ");
  EXPECT_EQ(p->records_committed(), 0);
  EXPECT_TRUE(rig.store->LoadOffsets()->empty());
}

TEST(Pipeline, CommitsInGroupsAndStoresTheNextOffsetOfEveryPartition) {
  Rig rig;
  std::unique_ptr<Pipeline> p = rig.Make(Batches(3));
  ScriptedSource source(Season(), p.get());
  std::atomic<bool> stop{false};
  ASSERT_TRUE(p->Run(source, stop).ok());
  EXPECT_EQ(p->records_committed(), 20);
  EXPECT_EQ(rig.watcher.batches, (std::vector<int>{3, 3, 3, 3, 3, 3, 2}));
  absl::StatusOr<OffsetMap> offsets = rig.store->LoadOffsets();
  EXPECT_EQ(*offsets, (OffsetMap{{{"wijkprofiel.responses.v1", 0}, 10}, {{"wijkprofiel.responses.v1", 1}, 10}}));
  EXPECT_EQ(rig.dead.DeliveredCount(), 4u);  // offsets 0, 5, 10, 15 of the season
  const WijkState* s = rig.hub.Current()->state.Find(StateKey{"2024", "cool"});
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->cells[QuotaCellIndex(Instrument::kVeiligheidsmonitor, CellIndex(AgeBand::k30To44, Sex::kFemale))].accepted, 16);
}

TEST(Pipeline, ARestartReadsNothingTwice) {
  Rig rig;
  {
    std::unique_ptr<Pipeline> p = rig.Make(Batches(4));
    ScriptedSource source(Season(), p.get());
    std::atomic<bool> stop{false};
    ASSERT_TRUE(p->Run(source, stop).ok());
  }
  const FieldworkState before = rig.hub.Current()->state;
  std::unique_ptr<Pipeline> again = rig.Make(Batches(4));
  ScriptedSource source(Season(), again.get());
  std::atomic<bool> stop{false};
  ASSERT_TRUE(again->Run(source, stop).ok());
  EXPECT_EQ(source.polled(), 0);
  EXPECT_EQ(again->records_committed(), 0);
  EXPECT_TRUE(rig.hub.Current()->state == before);
}

TEST(Pipeline, OffsetsNeverPassARejectionThatWasNotDelivered) {
  Rig rig;
  rig.dead.failures = 5;  // the dead-letter topic is down for a while
  std::unique_ptr<Pipeline> p = rig.Make(Batches(4));
  int violations = 0;
  rig.watcher.after_commit = [&] {
    const OffsetMap stored = *rig.store->LoadOffsets();
    for (const auto& [tp, next] : stored) {
      for (int64_t o = 0; o < next; ++o) {
        const int i = static_cast<int>(o * 2 + tp.second);  // Season(): record i is at partition i%2, offset i/2
        if (i % 5 == 0 && !rig.dead.Delivered("wijkprofiel.responses.v1/" + std::to_string(tp.second) + "/" + std::to_string(o))) {
          ++violations;
        }
      }
    }
  };
  ScriptedSource source(Season(), p.get());
  std::atomic<bool> stop{false};
  ASSERT_TRUE(p->Run(source, stop).ok());
  EXPECT_EQ(violations, 0);
  EXPECT_GE(rig.watcher.rollbacks, 1);  // a failed attempt redoes its batch...
  EXPECT_EQ(rig.dead.failures, 0);
  EXPECT_EQ(p->records_committed(), 20);  // ...and nothing is lost or counted twice
  EXPECT_EQ(rig.dead.DeliveredCount(), 4u);
  const WijkState* s = rig.hub.Current()->state.Find(StateKey{"2024", "cool"});
  EXPECT_EQ(s->cells[QuotaCellIndex(Instrument::kVeiligheidsmonitor, CellIndex(AgeBand::k30To44, Sex::kFemale))].accepted, 16);
  EXPECT_EQ(s->cells[QuotaCellIndex(Instrument::kVeiligheidsmonitor, CellIndex(AgeBand::k30To44, Sex::kFemale))].rejected, 4);
}

// The commit thread waits for a batch's dead letters; meanwhile the pipeline
// thread decides the next batch's records (and sends their letters).
TEST(Pipeline, DecidesTheNextBatchWhileTheLastOnesDeadLettersAreDelivered) {
  Rig rig;
  rig.dead.hold_until_sent = 2;  // the letters of records 0 (first batch) and 5 (second)
  std::unique_ptr<Pipeline> p = rig.Make(Batches(4));
  ScriptedSource source(Season(), p.get());
  std::atomic<bool> stop{false};
  ASSERT_TRUE(p->Run(source, stop).ok());
  EXPECT_EQ(rig.dead.sent_while_held, 2u);  // 1 when the pipeline thread waits in the flush
  EXPECT_EQ(p->records_committed(), 20);
  EXPECT_EQ(rig.dead.DeliveredCount(), 4u);
}

TEST(Pipeline, TheLingerTimeClosesABatch) {
  Rig rig;
  PipelineOptions po = Batches(1000);
  po.linger = std::chrono::milliseconds(0);
  std::unique_ptr<Pipeline> p = rig.Make(po);
  ScriptedSource source(Season(), p.get());
  std::atomic<bool> stop{false};
  ASSERT_TRUE(p->Run(source, stop).ok());
  EXPECT_EQ(p->records_committed(), 20);
  EXPECT_EQ(rig.watcher.batches.size(), 20u);  // a batch per record when nothing lingers
}

// Records are read ahead in windows and decoded, checked and pseudonymised on
// one or more other threads while the pipeline thread applies the window
// before, and a batch is written on another while the next one is filled: the
// outcome (state, offsets, dead letters) is that of one record at a time.
TEST(Pipeline, ReadingAheadAndWritingOnOtherThreadsChangeNothingInTheOutcome) {
  const std::vector<Scripted> season = SimulatedSeason();
  ASSERT_GT(season.size(), 1000u);
  struct Variant {
    int threads;
    int window;
    bool commit_thread;
  };
  std::vector<std::shared_ptr<const CommittedState>> states;
  std::vector<std::set<std::string>> dead;
  for (Variant v : {Variant{0, 1, false}, Variant{1, 256, true}, Variant{1, 7, true}, Variant{0, 1, true},
                    Variant{2, 256, true}, Variant{3, 7, true}, Variant{4, 1, false}}) {
    Rig rig;
    PipelineOptions po = Batches(500);
    po.prepare_threads = v.threads;
    po.window_records = v.window;
    po.commit_thread = v.commit_thread;
    std::unique_ptr<Pipeline> p = rig.Make(po);
    ScriptedSource source(season, p.get());
    std::atomic<bool> stop{false};
    ASSERT_TRUE(p->Run(source, stop).ok());
    EXPECT_EQ(p->records_committed(), static_cast<int64_t>(season.size()));
    EXPECT_EQ(source.polled(), static_cast<int64_t>(season.size()));
    states.push_back(rig.hub.Current());
    dead.push_back(rig.dead.DeliveredSet());
  }
  ASSERT_FALSE(dead[0].empty());
  for (size_t i = 1; i < states.size(); ++i) {
    EXPECT_TRUE(states[i]->state == states[0]->state) << "variant " << i;
    EXPECT_EQ(states[i]->offsets, states[0]->offsets) << "variant " << i;
    EXPECT_EQ(dead[i], dead[0]) << "variant " << i;
  }
}

// The second thread also reads ahead, from the store, the keys that the records'
// dedup lookups will read (ReadingAhead... above: with the same outcome). Here
// nothing is written between the read-ahead and the lookups, so every lookup
// is answered by it: a record that passed its checks looks up its response_id
// and its respondent in the wijk (its claim, where a counted response is
// stored) and wave-wide; one without consent its response_id and its claim.
TEST(Pipeline, TheSecondThreadReadsEveryLookupAhead) {
  Rig rig;
  PipelineOptions po = Batches(1000);
  std::unique_ptr<Pipeline> p = rig.Make(po);
  ScriptedSource source(Season(), p.get());
  std::atomic<bool> stop{false};
  ASSERT_TRUE(p->Run(source, stop).ok());
  EXPECT_EQ(p->records_committed(), 20);
  const StateStore::ReadAheadCounts counts = rig.store->read_ahead_counts();
  EXPECT_EQ(counts.used, 16u * 3 + 4 * 2);
  EXPECT_EQ(counts.stale, 0u);
  EXPECT_EQ(counts.direct, 0u);
}

// A rebalance happens inside Poll, in the middle of reading a window: every
// record read before it is applied and committed before the partitions go,
// and nothing is counted twice after they come back.
TEST(Pipeline, ARebalanceCommitsEveryRecordReadAheadBeforeThePartitionsGo) {
  // (preparers, window): with windows of 2 records, several are in flight.
  for (auto [preparers, window] : {std::pair{1, 256}, std::pair{3, 2}, std::pair{0, 2}})
  for (int after : {1, 6, 13}) {
    SCOPED_TRACE(Cat(preparers, " preparers, windows of ", window));
    Rig rig;
    PipelineOptions po = Batches(1000);
    po.prepare_threads = preparers;
    po.window_records = window;
    std::unique_ptr<Pipeline> p = rig.Make(po);
    ScriptedSource source(Season(), p.get());
    source.rebalance_after = after;
    int64_t committed_at_revoke = -1;
    source.on_revoked = [&](int64_t polled) {
      EXPECT_EQ(p->records_committed(), polled);
      absl::StatusOr<OffsetMap> offsets = rig.store->LoadOffsets();
      ASSERT_TRUE(offsets.ok());
      int64_t stored = 0;
      for (const auto& [tp, next] : *offsets) stored += next;
      committed_at_revoke = stored;
    };
    std::atomic<bool> stop{false};
    ASSERT_TRUE(p->Run(source, stop).ok());
    EXPECT_EQ(committed_at_revoke, after) << "rebalance after " << after;
    EXPECT_EQ(p->records_committed(), 20);
    const WijkState* s = rig.hub.Current()->state.Find(StateKey{"2024", "cool"});
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->cells[QuotaCellIndex(Instrument::kVeiligheidsmonitor, CellIndex(AgeBand::k30To44, Sex::kFemale))].accepted,
              16);
  }
}

// The dead-letter file (replay's --rejected-out) is a record file: read back,
// it holds every sent record once, in order, across flushes; a discarded
// (rolled-back) batch leaves nothing.
class NoAssignments : public AssignmentHandler {
 public:
  void OnRevoke(const std::vector<TopicPartition>&) override {}
  OffsetMap OnAssign(const std::vector<TopicPartition>&) override { return {}; }
};

// Partition 1 is taken away after everything is committed and given back
// later, like a consumer group moving it twice.
class MovingSource : public RecordSource {
 public:
  MovingSource(std::vector<Scripted> records, AssignmentHandler* handler) : handler_(handler) {
    for (Scripted& r : records) by_partition_[r.partition].push_back(std::move(r));
  }
  std::optional<SourceRecord> Poll(std::chrono::milliseconds) override {
    static const std::string topic = "wijkprofiel.responses.v1";  // a record's views outlive Poll
    if (step_ == 0) {
      step_ = 1;
      Rewind(handler_->OnAssign({{topic, 0}, {topic, 1}}));
    }
    if (step_ == 1 && Drained()) {
      step_ = 2;
      handler_->OnRevoke({{topic, 1}});
      held_.erase(1);
    }
    if (step_ == 2 && give_back()) {
      step_ = 3;
      held_.insert(1);
      Rewind(handler_->OnAssign({{topic, 1}}));
      reassigned_from = position_[1];
    }
    for (int32_t p : held_) {
      int64_t& pos = position_[p];
      if (pos < static_cast<int64_t>(by_partition_[p].size())) {
        return SourceRecord{topic, p, pos, "cool", by_partition_[p][static_cast<size_t>(pos++)].value, ""};
      }
    }
    return std::nullopt;
  }
  void Rewind(const OffsetMap& offsets) override {
    for (int32_t p : held_) {
      auto it = offsets.find({"wijkprofiel.responses.v1", p});
      position_[p] = it == offsets.end() ? 0 : it->second;
    }
  }
  void Committed(const OffsetMap&) override {}
  bool AtEnd() const override { return step_ == 3 && Drained(); }
  std::vector<PartitionProgress> Progress() const override { return {}; }
  bool Assigned() const override { return step_ > 0; }
  void Close() override {}
  std::function<bool()> give_back;  // polled while partition 1 is away
  int64_t reassigned_from = -1;     // where partition 1 was read from when given back

 private:
  bool Drained() const {
    for (int32_t p : held_) {
      auto it = position_.find(p);
      if (it == position_.end() || it->second < static_cast<int64_t>(by_partition_.at(p).size())) return false;
    }
    return true;
  }
  AssignmentHandler* handler_;
  std::map<int32_t, std::vector<Scripted>> by_partition_;
  std::map<int32_t, int64_t> position_;
  std::set<int32_t> held_ = {0, 1};
  int step_ = 0;
};

TaskStates StoredTasks(const StateStore& store) {
  TaskStates tasks;
  EXPECT_TRUE(store.LoadAggregates(DefaultMethodology(), tasks).ok());
  return tasks;
}

TEST(Pipeline, ARevokedPartitionsStateIsDroppedAfterKeepRevokedAndReadAgainWhenItComesBack) {
  const std::vector<Scripted> season = SimulatedSeason();
  Rig reference;
  {
    std::unique_ptr<Pipeline> p = reference.Make(Batches(7));
    ScriptedSource source(season, p.get());
    std::atomic<bool> stop{false};
    ASSERT_TRUE(p->Run(source, stop).ok());
  }
  int64_t partition1 = 0;
  for (const Scripted& r : season) partition1 += r.partition == 1;
  ASSERT_GT(partition1, 50);

  for (const bool keep : {false, true}) {
    SCOPED_TRACE(keep ? "kept" : "dropped");
    Rig rig;
    PipelineOptions po = Batches(7);
    po.keep_revoked = keep ? std::chrono::seconds(3600) : std::chrono::seconds(0);
    std::unique_ptr<Pipeline> p = rig.Make(po);
    MovingSource source(season, p.get());
    const std::pair<std::string, int32_t> tp1{"wijkprofiel.responses.v1", 1};
    bool seen_gone = false;
    std::optional<std::chrono::steady_clock::time_point> deadline;
    source.give_back = [&] {
      // Given back once partition 1's state is gone (dropped), or at once
      // (kept); or after 30 s, and then the test fails.
      if (keep) return true;
      if (!deadline) deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
      if (std::chrono::steady_clock::now() > *deadline) return true;
      const OffsetMap stored = *rig.store->LoadOffsets();
      FieldworkState task1;
      EXPECT_TRUE(rig.store->LoadTask(DefaultMethodology(), 1, task1).ok());
      seen_gone = !stored.count(tp1) && task1.wijken().empty() && !StoredTasks(*rig.store).count(1) &&
                  stored.count({"wijkprofiel.responses.v1", 0});
      return seen_gone;
    };
    std::atomic<bool> stop{false};
    ASSERT_TRUE(p->Run(source, stop).ok());
    if (keep) {
      EXPECT_EQ(source.reassigned_from, partition1);  // goes on from its stored offset
    } else {
      EXPECT_TRUE(seen_gone);
      EXPECT_EQ(source.reassigned_from, 0);  // read again from the start
    }
    // Either way, the end state is that of one uninterrupted run.
    EXPECT_EQ(*rig.store->LoadOffsets(), *reference.store->LoadOffsets());
    EXPECT_TRUE(StoredTasks(*rig.store) == StoredTasks(*reference.store));
    EXPECT_TRUE(rig.hub.Current()->state == reference.hub.Current()->state);
  }
}

TEST(FileDeadLetters, WritesEveryRecordOnceInOrderAcrossFlushes) {
  testing::TempDir dir;
  const std::string path = dir.File("rejected.rec");
  {
    std::unique_ptr<FileDeadLetters> sink = *FileDeadLetters::Open(path);
    for (int i = 0; i < 300; ++i) {
      sink->Send(OutgoingRecord{"wijkprofiel.rejected.v1", -1, "k" + std::to_string(i),
                                std::string(static_cast<size_t>(i * 7), 'v'), {}});
      if (i % 100 == 99) {
        ASSERT_TRUE(sink->Flush(std::chrono::milliseconds(1000)).ok());
      }
    }
    sink->Send(OutgoingRecord{"wijkprofiel.rejected.v1", -1, "discarded", "x", {}});
    EXPECT_EQ(sink->Pending(), 1u);
    sink->Discard();
    ASSERT_TRUE(sink->Flush(std::chrono::milliseconds(1000)).ok());
  }
  NoAssignments handler;
  std::unique_ptr<FileSource> source = *FileSource::Open(path, &handler);
  int n = 0;
  for (;;) {
    std::optional<SourceRecord> r = source->Poll(std::chrono::milliseconds(0));
    if (!r) break;
    EXPECT_EQ(r->topic, "wijkprofiel.rejected.v1");
    EXPECT_EQ(r->key, "k" + std::to_string(n));
    EXPECT_EQ(r->value, std::string(static_cast<size_t>(n * 7), 'v'));
    ++n;
  }
  EXPECT_TRUE(source->error().ok()) << source->error();
  EXPECT_EQ(n, 300);
}

}  // namespace
}  // namespace wijkpuls
