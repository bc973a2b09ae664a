// The RocksDB state directory: atomic batches, offsets, aggregates, the
// schema version, the lock and the errors an operator sees.
#include "store/state_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "process/rebuild.h"
#include "process/record_processor.h"
#include "sim/simulator.h"
#include "store/schema.h"
#include "tests/support/test_support.h"
#include "model/text.h"

namespace wijkpuls {
namespace {

using testing::DefaultMethodology;
using testing::TempDir;

std::unique_ptr<StateStore> Open(const std::string& dir) {
  absl::StatusOr<std::unique_ptr<StateStore>> s = OpenStateStore(StoreOptions{dir});
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? std::move(*s) : nullptr;
}

TEST(StateStore, OffsetsAndStateAreWrittenTogetherOrNotAtAll) {
  TempDir dir;
  {
    std::unique_ptr<StateStore> s = Open(dir.File("state"));
    std::unique_ptr<StateBatch> b = s->NewBatch();
    b->PutOffset("responses", 3, 42);
    Attribution a;
    b->PutRejected(0, "2024", "cool", "r-1", RejectReason::kNoConsent, a, false);
    // Not committed: dropped with the batch.
    std::unique_ptr<StateBatch> lost = s->NewBatch();
    lost->PutOffset("responses", 4, 7);
    ASSERT_TRUE(s->Commit(*b).ok());
  }
  std::unique_ptr<StateStore> s = Open(dir.File("state"));
  absl::StatusOr<OffsetMap> offsets = s->LoadOffsets();
  ASSERT_TRUE(offsets.ok());
  EXPECT_EQ(*offsets, (OffsetMap{{{"responses", 3}, 42}}));
  std::unique_ptr<StateBatch> b = s->NewBatch();
  auto rec = b->GetResponse(0, "2024", "cool", "r-1", DefaultMethodology());
  ASSERT_TRUE(rec.ok());
  ASSERT_TRUE(rec->has_value());
  EXPECT_EQ((*rec)->outcome, Outcome::kRejected);
  EXPECT_EQ((*rec)->reason, RejectReason::kNoConsent);
}

TEST(StateStore, ABatchSeesItsOwnWrites) {
  TempDir dir;
  std::unique_ptr<StateStore> s = Open(dir.File("state"));
  std::unique_ptr<StateBatch> b = s->NewBatch();
  EXPECT_FALSE(b->GetResponse(0, "2024", "cool", "r-9", DefaultMethodology())->has_value());
  b->PutRejected(0, "2024", "cool", "r-9", RejectReason::kOutOfWindow, Attribution{}, false);
  EXPECT_TRUE(b->GetResponse(0, "2024", "cool", "r-9", DefaultMethodology())->has_value());
  Digest256 who{};
  who[0] = 7;
  b->PutRespondent(0, "2024", "cool", who, RespondentRecord{RespondentState::kClaimed, "r-9", {}, {}});
  EXPECT_EQ(b->GetRespondent(0, "2024", "cool", who)->state, RespondentState::kClaimed);
  EXPECT_EQ(b->GetRespondent(0, "2024", "", who)->state, RespondentState::kUnseen);
}

// A key written twice in one batch (a response counted, then its respondent
// withdrawing before the batch is written) holds the last value, in the batch
// and once written.
TEST(StateStore, AKeyWrittenTwiceInABatchHoldsTheLastValue) {
  TempDir dir;
  std::unique_ptr<StateStore> s = Open(dir.File("state"));
  Digest256 who{};
  who[0] = 9;
  std::unique_ptr<StateBatch> b = s->NewBatch();
  b->PutRespondent(0, "2024", "cool", who, RespondentRecord{RespondentState::kClaimed, "r-9", {}, {}});
  b->PutRespondent(0, "2024", "cool", who, RespondentRecord{RespondentState::kWithdrawn, "", {}, {}});
  EXPECT_EQ(b->GetRespondent(0, "2024", "cool", who)->state, RespondentState::kWithdrawn);
  ASSERT_TRUE(s->Commit(*b).ok());
  EXPECT_EQ(s->NewBatch()->GetRespondent(0, "2024", "cool", who)->state, RespondentState::kWithdrawn);
}

// The pipeline fills the next batch while the last one is being written on
// another thread: the next batch reads through it, its own writes first, and
// reads the store once the last one is written.
TEST(StateStore, ABatchReadsThroughTheBatchBeingWrittenBeforeIt) {
  TempDir dir;
  std::unique_ptr<StateStore> s = Open(dir.File("state"));
  Digest256 who{};
  who[0] = 9;
  std::unique_ptr<StateBatch> first = s->NewBatch();
  first->PutRejected(0, "2024", "cool", "r-1", RejectReason::kNoConsent, Attribution{}, false);
  first->PutRespondent(0, "2024", "cool", who, RespondentRecord{RespondentState::kClaimed, "r-1", {}, {}});
  std::unique_ptr<StateBatch> next = s->NewBatch(first.get());
  EXPECT_TRUE(next->GetResponse(0, "2024", "cool", "r-1", DefaultMethodology())->has_value());
  EXPECT_EQ(next->GetRespondent(0, "2024", "cool", who)->response_id, "r-1");
  next->PutRespondent(0, "2024", "cool", who, RespondentRecord{RespondentState::kWithdrawn, "", {}, {}});
  EXPECT_EQ(next->GetRespondent(0, "2024", "cool", who)->state, RespondentState::kWithdrawn);

  absl::Status written;
  std::thread writer([&] { written = s->Commit(*first); });
  // Reads during the write see the same, whichever way it goes.
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(next->GetResponse(0, "2024", "cool", "r-1", DefaultMethodology())->has_value());
  }
  writer.join();
  ASSERT_TRUE(written.ok()) << written;
  next->PreviousWritten();
  first.reset();
  EXPECT_TRUE(next->GetResponse(0, "2024", "cool", "r-1", DefaultMethodology())->has_value());
  EXPECT_EQ(next->GetRespondent(0, "2024", "cool", who)->state, RespondentState::kWithdrawn);
  // Without the batch before it, a fresh batch sees only what is written.
  std::unique_ptr<StateBatch> fresh = s->NewBatch();
  EXPECT_EQ(fresh->GetRespondent(0, "2024", "cool", who)->state, RespondentState::kClaimed);
}

// A batch remembers which keys it wrote as bits of their hashes and probes
// its map only when the bit is set: with 60,000 keys in a 2^18-bit filter
// many bits are shared. Every key written is found (in the batch and by the
// batch after it), in its own column family only, and keys never written are
// not, whatever their bits say.
TEST(StateStore, EveryKeyOfABigBatchIsFoundThroughItAndTheBatchAfterIt) {
  TempDir dir;
  std::unique_ptr<StateStore> s = Open(dir.File("state"));
  constexpr int kKeys = 30000;
  auto who = [](int i) {
    Digest256 d{};
    d[0] = static_cast<uint8_t>(i);
    d[1] = static_cast<uint8_t>(i >> 8);
    d[2] = static_cast<uint8_t>(i >> 16);
    return d;
  };
  std::unique_ptr<StateBatch> first = s->NewBatch();
  for (int i = 0; i < kKeys; ++i) {
    first->PutRejected(0, "2024", "cool", Cat("r-", i), RejectReason::kNoConsent, Attribution{}, false);
    first->PutRespondent(0, "2024", "cool", who(i), RespondentRecord{RespondentState::kClaimed, Cat("r-", i), {}, {}});
  }
  std::unique_ptr<StateBatch> next = s->NewBatch(first.get());
  int found = 0, claimed = 0, strays = 0;
  for (StateBatch* b : {first.get(), next.get()}) {
    for (int i = 0; i < kKeys; ++i) {
      found += (*b->GetResponse(0, "2024", "cool", Cat("r-", i), DefaultMethodology())).has_value();
      claimed += b->GetRespondent(0, "2024", "cool", who(i))->state == RespondentState::kClaimed;
      // Not written: another id, another wijk, the wave-wide key.
      strays += (*b->GetResponse(0, "2024", "cool", Cat("x-", i), DefaultMethodology())).has_value();
      strays += b->GetRespondent(0, "2024", "bospolder", who(i))->state != RespondentState::kUnseen;
      strays += b->GetRespondent(0, "2024", "", who(i))->state != RespondentState::kUnseen;
    }
  }
  EXPECT_EQ(found, 2 * kKeys);
  EXPECT_EQ(claimed, 2 * kKeys);
  EXPECT_EQ(strays, 0);
}

// Lookups read ahead on another thread (the pipeline's wp-prepare) answer a
// batch's reads only while they are current: the batch's own writes and the
// batch being written come first, and once any batch is written after the
// read-ahead, the store is read again.
TEST(StateStore, ALookupReadAheadIsUsedOnlyWhileNothingWasWrittenSince) {
  TempDir dir;
  std::unique_ptr<StateStore> s = Open(dir.File("state"));
  const Methodology& m = DefaultMethodology();
  Digest256 who{};
  who[0] = 5;
  {
    std::unique_ptr<StateBatch> b = s->NewBatch();
    b->PutRejected(0, "2024", "cool", "stored", RejectReason::kNoConsent, Attribution{}, false);
    ASSERT_TRUE(s->Commit(*b).ok());
  }
  std::unique_ptr<ReadAhead> owner = s->NewReadAhead();
  ReadAhead& ahead = *owner;
  for (const char* id : {"stored", "later", "mine", "writing"}) ahead.AddResponse(0, "2024", "cool", id);
  ahead.AddRespondent(0, "2024", "cool", who);
  ahead.AddRespondent(0, "2024", "", who);
  ahead.AddResponse(0, "2024", "cool", "stored");  // twice: read once
  EXPECT_EQ(ahead.size(), 7u);
  s->Read(ahead);

  std::unique_ptr<StateBatch> writing = s->NewBatch();
  writing->PutRejected(0, "2024", "cool", "writing", RejectReason::kNoConsent, Attribution{}, false);
  std::unique_ptr<StateBatch> b = s->NewBatch(writing.get());
  b->PutRejected(0, "2024", "cool", "mine", RejectReason::kNoConsent, Attribution{}, false);
  EXPECT_TRUE(b->GetResponse(0, "2024", "cool", "stored", m, &ahead)->has_value());
  EXPECT_FALSE(b->GetResponse(0, "2024", "cool", "later", m, &ahead)->has_value());
  EXPECT_EQ(b->GetRespondent(0, "2024", "", who, &ahead)->state, RespondentState::kUnseen);
  // Read ahead as absent, but written since, in this batch and the one before.
  EXPECT_TRUE(b->GetResponse(0, "2024", "cool", "mine", m, &ahead)->has_value());
  EXPECT_TRUE(b->GetResponse(0, "2024", "cool", "writing", m, &ahead)->has_value());
  EXPECT_EQ(s->read_ahead_counts().used, 3u);
  EXPECT_EQ(s->read_ahead_counts().stale, 0u);

  // Another batch is written: "later" is stored now, and the read-ahead's
  // "absent" is out of date.
  {
    std::unique_ptr<StateBatch> other = s->NewBatch();
    other->PutRejected(0, "2024", "cool", "later", RejectReason::kNoConsent, Attribution{}, false);
    ASSERT_TRUE(s->Commit(*other).ok());
  }
  EXPECT_TRUE(b->GetResponse(0, "2024", "cool", "later", m, &ahead)->has_value());
  EXPECT_EQ(b->GetRespondent(0, "2024", "cool", who, &ahead)->state, RespondentState::kUnseen);
  EXPECT_EQ(s->read_ahead_counts().used, 3u);
  EXPECT_EQ(s->read_ahead_counts().stale, 2u);

  // Read again, it is current; without it, the store is read directly.
  ahead.Clear();
  ahead.AddResponse(0, "2024", "cool", "later");
  s->Read(ahead);
  EXPECT_TRUE(b->GetResponse(0, "2024", "cool", "later", m, &ahead)->has_value());
  EXPECT_EQ(s->read_ahead_counts().used, 4u);
  EXPECT_TRUE(b->GetResponse(0, "2024", "cool", "later", m)->has_value());
  EXPECT_EQ(s->read_ahead_counts().used, 4u);
  EXPECT_EQ(s->read_ahead_counts().direct, 1u);
}

// A counted response with every optional field set.
CountedResponse FullCountedResponse() {
  CountedResponse r;
  r.response_id = "r-2";
  r.wave = "2024";
  r.wijk = 3;
  r.instrument = Instrument::kWijkonderzoek;
  r.mode = Mode::kFaceToFace;
  r.age_band = AgeBand::k65Plus;
  r.sex = Sex::kMale;
  r.started_at = 1'680'000'000LL * kNanosPerSecond;
  r.submitted_at = r.started_at.value() + 900 * kNanosPerSecond + 17;
  r.interviewer_id = "int-3";
  r.instrument_version = "2024.1";
  r.answers = {{15, 4}, {20, 98}, {33, 10}};
  r.dropped_items = {16};
  r.unknown_items = 2;
  r.other_instrument_items = 1;
  r.flags.Add(QualityFlag::kStraightliner);
  r.respondent[5] = 99;
  return r;
}

// A counted response is stored in its respondent's claim (one key, schema 5).
absl::StatusOr<std::optional<ResponseRecord>> Claimed(StateBatch& b, const Digest256& who, const Methodology& m) {
  absl::StatusOr<RespondentRecord> claim = b.GetRespondent(0, "2024", "cool", who);
  if (!claim.ok()) return claim.status();
  if (claim->state != RespondentState::kClaimed) return absl::NotFoundError("no claim");
  return b.GetClaimed(0, "2024", "cool", *claim, m);
}

TEST(StateStore, CountedResponsesRoundTrip) {
  TempDir dir;
  std::unique_ptr<StateStore> s = Open(dir.File("state"));
  const Methodology& m = DefaultMethodology();
  const CountedResponse r = FullCountedResponse();
  std::unique_ptr<StateBatch> b = s->NewBatch();
  b->PutCounted(0, r, "cool", Outcome::kFlagged);
  EXPECT_EQ(b->Count(), 1);  // one key
  ASSERT_TRUE(s->Commit(*b).ok());
  std::unique_ptr<StateBatch> read = s->NewBatch();
  EXPECT_FALSE(read->GetResponse(0, "2024", "cool", "r-2", m)->has_value());  // not under its id
  EXPECT_EQ(read->GetRespondent(0, "2024", "cool", r.respondent)->response_id, "r-2");
  auto rec = Claimed(*read, r.respondent, m);
  ASSERT_TRUE(rec.ok() && rec->has_value()) << rec.status();
  ASSERT_TRUE((*rec)->response);
  const CountedResponse& back = *(*rec)->response;
  EXPECT_EQ((*rec)->outcome, Outcome::kFlagged);
  EXPECT_EQ(back.answers, r.answers);
  EXPECT_EQ(back.dropped_items, r.dropped_items);
  EXPECT_EQ(back.submitted_at, r.submitted_at);
  EXPECT_EQ(back.started_at, r.started_at);
  EXPECT_EQ(back.flags, r.flags);
  EXPECT_EQ(back.respondent, r.respondent);
  EXPECT_EQ(back.interviewer_id, "int-3");
}

// A batch encodes every counted response into one reused message: nothing of
// one response may be left in the next.
TEST(StateStore, ACountedResponseKeepsNothingOfTheOneWrittenBeforeIt) {
  TempDir dir;
  std::unique_ptr<StateStore> s = Open(dir.File("state"));
  const Methodology& m = DefaultMethodology();
  // The full response with its optional fields removed and the others changed.
  CountedResponse sparse = FullCountedResponse();
  sparse.response_id = "r-3";
  sparse.mode = Mode::kWeb;
  sparse.started_at.reset();
  sparse.interviewer_id.clear();
  sparse.instrument_version.clear();
  sparse.answers = {{15, 2}};
  sparse.dropped_items.clear();
  sparse.unknown_items = 0;
  sparse.other_instrument_items = 0;
  sparse.flags = FlagSet{};
  sparse.respondent = Digest256{};
  sparse.respondent[0] = 7;
  std::unique_ptr<StateBatch> b = s->NewBatch();
  b->PutCounted(0, FullCountedResponse(), "cool", Outcome::kFlagged);
  b->PutCounted(0, sparse, "cool", Outcome::kAccepted);
  ASSERT_TRUE(s->Commit(*b).ok());
  auto rec = Claimed(*s->NewBatch(), sparse.respondent, m);
  ASSERT_TRUE(rec.ok() && rec->has_value() && (*rec)->response) << rec.status();
  const CountedResponse& back = *(*rec)->response;
  EXPECT_EQ((*rec)->outcome, Outcome::kAccepted);
  EXPECT_EQ(back.answers, sparse.answers);
  EXPECT_TRUE(back.dropped_items.empty());
  EXPECT_EQ(back.started_at, std::nullopt);
  EXPECT_EQ(back.interviewer_id, "");
  EXPECT_EQ(back.instrument_version, "");
  EXPECT_EQ(back.unknown_items, 0);
  EXPECT_EQ(back.other_instrument_items, 0);
  EXPECT_EQ(back.flags, FlagSet{});
  EXPECT_EQ(back.respondent, sparse.respondent);
  EXPECT_EQ(back.mode, Mode::kWeb);
}

TEST(StateStore, AggregatesRoundTripExactly) {
  TempDir dir;
  const Methodology& m = DefaultMethodology();
  const int k = static_cast<int>(m.indicators.size());
  WijkState w;
  w.cells[3] = CellTally{5, 2, 1};
  w.days[19500] = DayTally{{3, 4}, {1, 0}};
  w.stats.resize(static_cast<size_t>(kCellCount) * k);
  w.stats[7] = SufficientStats{9, 5, 5};
  w.watermark = 1'690'000'000LL * kNanosPerSecond;
  w.quality.total.accepted = 5;
  w.quality.total.durations.Add(600, 2);
  w.quality.by_mode[2].rejected[4] = 1;
  w.quality.by_interviewer["int-1"].flagged = 2;
  w.quality.dropped_by_item[12] = 3;
  {
    std::unique_ptr<StateStore> s = Open(dir.File("state"));
    std::unique_ptr<StateBatch> b = s->NewBatch();
    // From nothing, the change to the quality tally is the tally.
    b->PutAggregates(0, StateKey{"2024", "cool"}, w, k, w.quality);
    b->PutAggregates(0, StateKey{"", ""}, WijkState{}, k, QualityTally{});
    ASSERT_TRUE(s->Commit(*b).ok());
  }
  std::unique_ptr<StateStore> s = Open(dir.File("state"));
  TaskStates tasks;
  ASSERT_TRUE(s->LoadAggregates(m, tasks).ok());
  ASSERT_EQ(tasks.size(), 1u);
  const FieldworkState& state = tasks[0];
  ASSERT_NE(state.Find(StateKey{"2024", "cool"}), nullptr);
  EXPECT_EQ(*state.Find(StateKey{"2024", "cool"}), w);
  EXPECT_EQ(*state.Find(StateKey{"", ""}), WijkState{});
  EXPECT_EQ(state.Watermark("2024"), w.watermark);
}

// The quality tally is written as each batch's change and added up by
// RocksDB's merge operator, when it reads, flushes (partial sums of changes)
// and compacts (changes into the whole tally). Small memtables make this run
// through many flushes and compactions, and a reopen in the middle through
// the log's recovery.
TEST(StateStore, TheQualityChangesOfManyBatchesAddUpThroughFlushesCompactionsAndReopens) {
  TempDir dir;
  const Methodology& m = DefaultMethodology();
  const int k = static_cast<int>(m.indicators.size());
  StoreOptions o{dir.File("state")};
  o.write_buffer_bytes = 64 << 10;
  o.sync_writes = false;
  const StateKey key{"2024", "cool"};
  WijkState w;
  std::mt19937_64 rng(3);
  std::vector<CountedResponse> counted;
  for (int part = 0; part < 2; ++part) {
    absl::StatusOr<std::unique_ptr<StateStore>> s = OpenStateStore(o);
    ASSERT_TRUE(s.ok()) << s.status();
    for (int batch = 0; batch < 300; ++batch) {
      QualityTally change;
      for (int i = 0; i < 20; ++i) {
        if (!counted.empty() && rng() % 8 == 0) {  // a withdrawal
          const CountedResponse r = counted.back();
          counted.pop_back();
          w.quality.AddCounted(r, false, -1);
          change.AddCounted(r, false, -1);
          continue;
        }
        CountedResponse r;
        r.mode = static_cast<Mode>(rng() % kModeCount);
        r.interviewer_id = "int-" + std::to_string(rng() % 40);
        r.submitted_at = 1'700'000'000LL * kNanosPerSecond;
        r.started_at = r.submitted_at - static_cast<int64_t>(60 + rng() % 20'000) * kNanosPerSecond;
        r.answers = {{0, 1}, {1, 98}};
        w.quality.AddCounted(r, false, +1);
        change.AddCounted(r, false, +1);
        counted.push_back(std::move(r));
      }
      std::unique_ptr<StateBatch> b = (*s)->NewBatch();
      b->PutAggregates(0, key, w, k, change);
      ASSERT_TRUE((*s)->Commit(*b).ok());
    }
    // The memtables were flushed while it ran: operands were summed into files.
    // Flushes run on RocksDB's background threads, so on a busy machine the
    // first file may land after the last commit returned.
    ASSERT_TRUE(testing::WaitFor([&] { return (*s)->Stats().sst_bytes > 0; }, std::chrono::seconds(30)))
        << "part " << part;
    TaskStates tasks;
    ASSERT_TRUE((*s)->LoadAggregates(m, tasks).ok());
    const FieldworkState& loaded = tasks[0];
    ASSERT_NE(loaded.Find(key), nullptr);
    ASSERT_EQ(loaded.Find(key)->quality, w.quality) << "part " << part;
  }
  std::unique_ptr<StateStore> s = Open(o.dir);
  TaskStates tasks;
  ASSERT_TRUE(s->LoadAggregates(m, tasks).ok());
  const FieldworkState& loaded = tasks[0];
  ASSERT_NE(loaded.Find(key), nullptr);
  EXPECT_EQ(*loaded.Find(key), w);
  EXPECT_GT(w.quality.total.durations.size(), 3000u);  // a tally far larger than one change
}

// Schema 4 keeps each task's state in its own key range; a directory of an
// earlier schema did not record which partition a wijk's records came from,
// so it is refused, read-only too, with what to do.
TEST(StateStore, AnEarlierSchemaIsRefusedWithWhatToDo) {
  TempDir dir;
  {
    std::unique_ptr<StateStore> s = Open(dir.File("state"));
    std::unique_ptr<StateBatch> b = s->NewBatch();
    b->PutMeta(store::kMetaSchemaVersion, "3");
    ASSERT_TRUE(s->Commit(*b).ok());
  }
  for (bool read_only : {false, true}) {
    StoreOptions o{dir.File("state")};
    o.read_only = read_only;
    absl::StatusOr<std::unique_ptr<StateStore>> s = OpenStateStore(o);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_TRUE(Contains(std::string(s.status().message()), "has schema version 3")) << s.status();
    EXPECT_TRUE(Contains(std::string(s.status().message()), "move the directory aside")) << s.status();
    EXPECT_TRUE(Contains(std::string(s.status().message()), dir.File("state"))) << s.status();
  }
}

// Every key starts with its task: the same (wave, wijk) in two partitions is
// two states, loaded apart; the instance's tombstones (task -1) are loaded on
// their own, and no task's range holds another's.
TEST(StateStore, EachTaskIsItsOwnKeyRange) {
  TempDir dir;
  const Methodology& m = DefaultMethodology();
  const int k = static_cast<int>(m.indicators.size());
  WijkState a, b;
  a.watermark = 10;
  b.watermark = 20;
  Digest256 who{};
  who[0] = 7;
  {
    std::unique_ptr<StateStore> s = Open(dir.File("state"));
    std::unique_ptr<StateBatch> batch = s->NewBatch();
    batch->PutAggregates(0, StateKey{"2024", "cool"}, a, k, QualityTally{});
    batch->PutAggregates(3, StateKey{"2024", "cool"}, b, k, QualityTally{});
    batch->PutRespondent(kInstanceTask, "2024", "", who, RespondentRecord{RespondentState::kWithdrawn, "", {}, {}});
    batch->PutRespondent(0, "2024", "cool", who, RespondentRecord{RespondentState::kClaimed, "r-1", {}, {}});
    ASSERT_TRUE(s->Commit(*batch).ok());
  }
  std::unique_ptr<StateStore> s = Open(dir.File("state"));
  TaskStates tasks;
  ASSERT_TRUE(s->LoadAggregates(m, tasks).ok());
  ASSERT_EQ(tasks.size(), 2u);
  EXPECT_EQ(tasks[0].Find(StateKey{"2024", "cool"})->watermark, 10);
  EXPECT_EQ(tasks[3].Find(StateKey{"2024", "cool"})->watermark, 20);
  std::vector<Tombstone> withdrawn;
  ASSERT_TRUE(s->LoadWithdrawn(withdrawn).ok());
  ASSERT_EQ(withdrawn.size(), 1u);
  EXPECT_EQ(withdrawn[0].wave, "2024");
  EXPECT_EQ(withdrawn[0].wijk, "");
  EXPECT_EQ(withdrawn[0].respondent, who);
  std::unique_ptr<StateBatch> read = s->NewBatch();
  EXPECT_EQ(read->GetRespondent(0, "2024", "cool", who)->state, RespondentState::kClaimed);
  EXPECT_EQ(read->GetRespondent(3, "2024", "cool", who)->state, RespondentState::kUnseen);
  EXPECT_EQ(read->GetRespondent(0, "2024", "", who)->state, RespondentState::kUnseen);
}

}  // namespace
}  // namespace wijkpuls

namespace wijkpuls {
namespace {

// A state directory written by an earlier release (schema 2: 1,225 simulated
// records replayed with batches of 300; tests/store/fixtures/README.md) is
// refused with what to do, and left as it was.
TEST(StateStoreUpgrade, ADirectoryOfAnEarlierReleaseIsRefusedAndLeftAsItWas) {
  TempDir dir;
  std::string out;
  ASSERT_EQ(testing::RunCommand({"/bin/tar", "xzf", testing::SourceDir() + "/tests/store/fixtures/state-v2.tar.gz", "-C",
                                 dir.path()},
                                &out),
            0)
      << out;
  auto files = [&] {
    std::map<std::string, std::string> found;  // name -> content
    for (const auto& e : std::filesystem::directory_iterator(dir.File("state"))) {
      std::ifstream in(e.path(), std::ios::binary);
      found[e.path().filename().string()] = std::string(std::istreambuf_iterator<char>(in), {});
    }
    return found;
  };
  const std::map<std::string, std::string> before = files();
  absl::StatusOr<std::unique_ptr<StateStore>> s = OpenStateStore(StoreOptions{dir.File("state")});
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(Contains(std::string(s.status().message()), "has schema version 2")) << s.status();
  StoreOptions ro{dir.File("state")};
  ro.read_only = true;
  s = OpenStateStore(ro);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(Contains(std::string(s.status().message()), "has schema version 2")) << s.status();
  // Refused before anything was written: an earlier release can still open it.
  std::map<std::string, std::string> after = files();
  after.erase("LOCK");
  std::map<std::string, std::string> expected = before;
  expected.erase("LOCK");
  EXPECT_EQ(after.size(), expected.size());
  EXPECT_TRUE(after == expected);
}

}  // namespace
}  // namespace wijkpuls
