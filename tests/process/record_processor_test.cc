// The decision for one record and its effect on state, on a real RocksDB
// state directory: deduplication, respondent claims, withdrawals in either
// order, and where rejected records are counted.
#include "process/record_processor.h"

#include <gtest/gtest.h>

#include <deque>

#include "google/protobuf/util/json_util.h"
#include "process/rebuild.h"
#include "process/rejection.h"
#include "tests/support/test_support.h"
#include "store/state_store.h"
#include "model/text.h"
#include "wijkpuls/v1/wijkpuls.pb.h"

namespace wijkpuls {
namespace {

// The aggregate of `key` in task 0, where these tests' responses are (null
// when it has none).
const WijkState* Find(const InstanceState& state, const StateKey& key) {
  auto it = state.tasks.find(0);
  return it == state.tasks.end() ? nullptr : it->second.Find(key);
}

// The batch's aggregates, as the pipeline puts them at a commit.
void PutAggregates(StateBatch& batch, const InstanceState& state, TaskChanges& dirty) {
  for (auto& [task, changed] : dirty) {
    for (auto& [key, change] : changed) {
      batch.PutAggregates(task, key, *state.tasks.at(task).Find(key),
                          static_cast<int>(testing::DefaultMethodology().indicators.size()), change);
    }
  }
  dirty.clear();
}

using testing::DefaultDistricts;
using testing::DefaultMethodology;
using testing::Local;

// The default register without the wijk "cool" (a register reload that drops it).
absl::StatusOr<DistrictRegister> RegisterWithoutCool() {
  std::string csv = testing::ReadFile(testing::SourceDir() + "/config/districts.csv");
  const size_t at = csv.find("rotterdam-centrum,Rotterdam Centrum,cool,");
  if (at == std::string::npos) return absl::NotFoundError("no line of cool in districts.csv");
  csv.erase(at, csv.find('\n', at) + 1 - at);
  return DistrictRegister::Parse(csv, "test.csv");
}

class Processor : public ::testing::Test {
 protected:
  Processor()
      : store_(*OpenStateStore(StoreOptions{dir_.File("state")})),
        pseudonymiser_(*Pseudonymiser::FromKey(std::string(32, 'k'))),
        processor_(DefaultMethodology(), DefaultDistricts(), pseudonymiser_,
                   [] { return Local("2026-01-01 00:00:00"); }, ProcessorOptions{}),
        batch_(store_->NewBatch()) {}

  static v1::SurveyResponse Response(const std::string& id, const std::string& ref) {
    v1::SurveyResponse m;
    m.set_response_id(id);
    m.set_respondent_ref(ref);
    m.set_wave("2024");
    m.set_instrument(v1::VEILIGHEIDSMONITOR);
    m.set_wijk("cool");
    m.set_mode(v1::PAPER);
    m.mutable_submitted_at()->set_seconds(Local("2023-04-12 12:00:00") / kNanosPerSecond);
    m.set_age_band(v1::AGE_30_44);
    m.set_sex(v1::MALE);
    m.set_consent(true);
    for (int i = 1; i <= 14; ++i) {
      auto* a = m.add_answers();
      a->set_item(i < 10 ? "V0" + std::to_string(i) : "V" + std::to_string(i));
      a->set_value(1 + i % 3);
    }
    return m;
  }

  RecordResult Feed(const std::string& value, const std::string& topic = "wijkprofiel.responses.v1") {
    values_.push_back(value);
    SourceRecord r;
    r.topic = topic;
    r.partition = partition_;
    r.offset = offset_++;
    r.key = "cool";
    r.value = values_.back();
    absl::StatusOr<RecordResult> result = processor_.Process(r, *batch_, state_, dirty_);
    EXPECT_TRUE(result.ok()) << result.status();
    return *result;
  }
  RecordResult Feed(const v1::SurveyResponse& m) { return Feed(m.SerializeAsString()); }
  RecordResult Withdraw(const std::string& ref, const std::string& wijk) {
    v1::Withdrawal w;
    w.set_respondent_ref(ref);
    w.set_wave("2024");
    w.set_wijk(wijk);
    return Feed(w.SerializeAsString(), "wijkprofiel.withdrawals.v1");
  }
  void Commit() {
    ASSERT_TRUE(store_->Commit(*batch_).ok());
    batch_ = store_->NewBatch();
  }
  const CellTally& Cell() const {
    static const CellTally kNone;
    const WijkState* s = Find(state_, StateKey{"2024", "cool"});
    return s ? s->cells[QuotaCellIndex(Instrument::kVeiligheidsmonitor, CellIndex(AgeBand::k30To44, Sex::kMale))]
             : kNone;
  }

  testing::TempDir dir_;
  std::unique_ptr<StateStore> store_;
  Pseudonymiser pseudonymiser_;
  RecordProcessor processor_;
  std::unique_ptr<StateBatch> batch_;
  InstanceState state_;
  TaskChanges dirty_;
  std::deque<std::string> values_;
  int64_t offset_ = 0;
  int32_t partition_ = 0;  // of the records fed
};

TEST_F(Processor, ARedeliveredRecordHasNoEffectInTheSameBatchAndAfterACommit) {
  const v1::SurveyResponse r = Response("r-1", "INV-1");
  EXPECT_EQ(Feed(r).outcome, Outcome::kAccepted);
  EXPECT_EQ(Feed(r).outcome, Outcome::kDuplicate);
  Commit();
  EXPECT_EQ(Feed(r).outcome, Outcome::kDuplicate);
  EXPECT_EQ(Cell().accepted, 1);
}

// Fields of a newer schema: accepted, and counted once (not again for a
// redelivered duplicate), for wijkpuls_unknown_fields_total.
TEST_F(Processor, UnknownFieldsAreCountedAndNeverAReasonToReject) {
  std::string bytes = Response("r-1", "INV-1").SerializeAsString();
  bytes += std::string("\xa0\x06\x01", 3);  // field 100, varint 1
  const RecordResult first = Feed(bytes);
  EXPECT_EQ(first.outcome, Outcome::kAccepted);
  EXPECT_EQ(first.unknown_fields, 1);
  const RecordResult again = Feed(bytes);
  EXPECT_EQ(again.outcome, Outcome::kDuplicate);
  EXPECT_EQ(again.unknown_fields, 0);
}

TEST_F(Processor, ADuplicateOfARejectedRecordIsNotDeadLetteredAgain) {
  v1::SurveyResponse r = Response("r-2", "INV-2");
  r.set_consent(false);
  RecordResult first = Feed(r);
  EXPECT_EQ(first.reason, RejectReason::kNoConsent);
  EXPECT_TRUE(first.DeadLetter());
  RecordResult again = Feed(r);
  EXPECT_EQ(again.outcome, Outcome::kDuplicate);
  EXPECT_FALSE(again.DeadLetter());
  EXPECT_EQ(Cell().rejected, 1);
}

TEST_F(Processor, ASecondResponseOfTheRespondentIsADuplicateRespondent) {
  EXPECT_EQ(Feed(Response("r-3", "INV-3")).outcome, Outcome::kAccepted);
  Commit();
  RecordResult second = Feed(Response("r-4", "INV-3"));
  EXPECT_EQ(second.reason, RejectReason::kDuplicateRespondent);
  EXPECT_NE(second.detail.find("r-3"), std::string::npos);
  EXPECT_EQ(second.detail.find("INV-3"), std::string::npos);  // never the ref
  EXPECT_EQ(Cell().accepted, 1);
  EXPECT_EQ(Cell().rejected, 1);
}

// A counted response is stored once, in its respondent's claim (schema 5):
// a redelivery is found there, also after the claim was written again for a
// later response of the respondent, and also once the register no longer
// has its wijk (the duplicate check comes before the field checks). What
// the redelivery names decides: the same response_id from another
// respondent is another response.
TEST_F(Processor, ACountedResponseIsFoundThroughItsClaim) {
  const v1::SurveyResponse r = Response("r-40", "INV-40");
  EXPECT_EQ(Feed(r).outcome, Outcome::kAccepted);
  Commit();
  EXPECT_FALSE(batch_->GetResponse(0, "2024", "cool", "r-40", DefaultMethodology())->has_value());
  EXPECT_EQ(Feed(Response("r-41", "INV-40")).reason, RejectReason::kDuplicateRespondent);
  Commit();
  EXPECT_EQ(Feed(r).outcome, Outcome::kDuplicate);
  absl::StatusOr<DistrictRegister> without_cool = RegisterWithoutCool();
  ASSERT_TRUE(without_cool.ok()) << without_cool.status();
  processor_.SetDistricts(*without_cool);
  const RecordResult after_reload = Feed(r);
  EXPECT_EQ(after_reload.outcome, Outcome::kDuplicate);
  EXPECT_FALSE(after_reload.DeadLetter());
  processor_.SetDistricts(DefaultDistricts());
  EXPECT_EQ(Cell().accepted, 1);
  EXPECT_EQ(Cell().rejected, 1);
  EXPECT_EQ(Feed(Response("r-40", "INV-42")).outcome, Outcome::kAccepted);
  EXPECT_EQ(Cell().accepted, 2);
  // The withdrawal finds the counted response in the claim, also after the
  // claim was written again, and erases it.
  EXPECT_EQ(Withdraw("INV-40", "cool").erased, 1);
  EXPECT_EQ(Cell().accepted, 1);
  EXPECT_EQ(Cell().rejected, 0);
  EXPECT_EQ(Feed(r).outcome, Outcome::kDuplicate);  // its id stays known
}

TEST_F(Processor, AFlaggedResponseClaimsTheRespondentToo) {
  v1::SurveyResponse speeder = Response("r-5", "INV-5");
  speeder.set_mode(v1::WEB);
  speeder.mutable_started_at()->set_seconds(speeder.submitted_at().seconds() - 100);
  RecordResult first = Feed(speeder);
  EXPECT_EQ(first.outcome, Outcome::kFlagged);
  EXPECT_TRUE(first.flags.Has(QualityFlag::kSpeeder));
  EXPECT_EQ(Feed(Response("r-6", "INV-5")).reason, RejectReason::kDuplicateRespondent);
  EXPECT_EQ(Cell().flagged, 1);
}

TEST_F(Processor, AWithdrawalAfterTheResponseRemovesItFromEverything) {
  Feed(Response("r-7", "INV-7"));
  Commit();
  const WijkState before_any = WijkState{};
  RecordResult w = Withdraw("INV-7", "cool");
  EXPECT_EQ(w.withdrawal, WithdrawalOutcome::kErased);
  EXPECT_EQ(w.erased, 1);
  Commit();
  const WijkState& s = *Find(state_, StateKey{"2024", "cool"});
  WijkState expect = before_any;
  expect.watermark = s.watermark;  // the watermark does not go back
  EXPECT_EQ(s, expect);
  // What is stored of it is gone (it is kept as a WITHDRAWN rejection, as if
  // the withdrawal had come first); the id stays known, so a redelivery is a
  // duplicate.
  auto rec = store_->NewBatch()->GetResponse(0, "2024", "cool", "r-7", DefaultMethodology());
  ASSERT_TRUE(rec.ok() && rec->has_value());
  EXPECT_EQ((*rec)->reason, RejectReason::kWithdrawn);
  EXPECT_FALSE((*rec)->response);
  EXPECT_EQ(Feed(Response("r-7", "INV-7")).outcome, Outcome::kDuplicate);
  // A later response of the respondent is WITHDRAWN, and counted nowhere.
  RecordResult later = Feed(Response("r-8", "INV-7"));
  EXPECT_EQ(later.reason, RejectReason::kWithdrawn);
  EXPECT_EQ(Cell().rejected, 0);
}

TEST_F(Processor, AWithdrawalThatArrivesFirstStillWins) {
  RecordResult w = Withdraw("INV-9", "");  // no wijk named: every wijk
  EXPECT_EQ(w.withdrawal, WithdrawalOutcome::kRecorded);
  Commit();
  EXPECT_EQ(Feed(Response("r-9", "INV-9")).reason, RejectReason::kWithdrawn);
  EXPECT_EQ(Cell().accepted, 0);
}

TEST_F(Processor, BothOrdersOfResponseAndWithdrawalEndInTheSameState) {
  Feed(Response("r-10", "INV-10"));
  Withdraw("INV-10", "cool");
  Feed(Response("r-11", "INV-11"));
  const WijkState one = *Find(state_, StateKey{"2024", "cool"});

  testing::TempDir other;
  auto store = *OpenStateStore(StoreOptions{other.File("state")});
  RecordProcessor p(DefaultMethodology(), DefaultDistricts(), pseudonymiser_, [] { return Local("2026-01-01 00:00:00"); },
                    ProcessorOptions{});
  auto batch = store->NewBatch();
  InstanceState state;
  TaskChanges dirty;
  std::vector<std::string> values;
  auto feed = [&](const std::string& value, const std::string& topic) {
    values.push_back(value);
    SourceRecord r{topic, 0, static_cast<int64_t>(values.size()), "cool", values.back(), ""};
    ASSERT_TRUE(p.Process(r, *batch, state, dirty).ok());
  };
  v1::Withdrawal w;
  w.set_respondent_ref("INV-10");
  w.set_wave("2024");
  w.set_wijk("cool");
  feed(w.SerializeAsString(), "wijkprofiel.withdrawals.v1");
  feed(Response("r-10", "INV-10").SerializeAsString(), "wijkprofiel.responses.v1");
  feed(Response("r-11", "INV-11").SerializeAsString(), "wijkprofiel.responses.v1");
  EXPECT_EQ(*Find(state, StateKey{"2024", "cool"}), one);
}

// Everything stored and aggregated, as text: equal texts, equal states.
std::string Dump(const StateStore& store, const InstanceState& instance) {
  std::string out;
  EXPECT_TRUE(store.ForEachResponse(DefaultMethodology(), [&](int32_t task, std::string_view wave, std::string_view wijk,
                                                               std::string_view id, const ResponseRecord& r) {
    const Attribution& a = r.attribution;
    out += Cat("response ", task, "/", wave, "/", wijk, "/", id, ": ", Name(r.outcome), " ",
               r.reason ? WireName(*r.reason) : "-", " erased=", r.erased, " checked=", r.passed_checks,
               " counted=", r.response.has_value(), " cell=", a.HasCell() || (a.instrument && a.age_band && a.sex),
               " mode=", a.mode ? WireName(*a.mode) : "-", " at=", r.submitted_at.value_or(0), "\n");
    return absl::OkStatus();
  }).ok());
  EXPECT_TRUE(store.ForEachRespondent([&](int32_t task, std::string_view wave, std::string_view wijk,
                                          const RespondentRecord& r) {
    out += Cat("respondent ", task, "/", wave, "/", wijk, ": ", static_cast<int>(r.state), " ", r.response_id, " [",
               Join(r.duplicates, ","), "]\n");
  }).ok());
  TaskStates stored;
  EXPECT_TRUE(store.LoadAggregates(DefaultMethodology(), stored).ok());
  EXPECT_TRUE(stored == instance.tasks) << "the aggregates in memory and in the store differ";
  const FieldworkState state = SumOfTasks(instance.tasks);
  for (const auto& [key, ptr] : state.wijken()) {
    const WijkState& s = *ptr;
    out += Cat("aggregate ", key.wave, "/", key.wijk, ": watermark ", s.watermark, "\n");
    for (const CellTally& c : s.cells) out += Cat(" ", c.accepted, "/", c.flagged, "/", c.rejected);
    out += "\n rejected:";
    for (int64_t n : s.quality.total.rejected) out += Cat(" ", n);
    out += Cat("\n interviewers ", s.quality.by_interviewer.size(), "\n");
  }
  return out;
}

// A withdrawn respondent with two responses, and a withdrawal read before,
// between or after them (the two topics are read in any order, and a restart
// changes the order): the state must not depend on it. Before, the second
// response was DUPLICATE_RESPONDENT when the first was counted first, and
// WITHDRAWN when the withdrawal came first: the quota and quality tallies
// differed by one rejection.
TEST(ProcessorOrder, AWithdrawnRespondentsResponsesEndTheSameWhateverTheOrder) {
  Pseudonymiser pseudonymiser = *Pseudonymiser::FromKey(std::string(32, 'k'));
  auto response = [](const std::string& id, const std::string& mode_interviewer) {
    v1::SurveyResponse m;
    m.set_response_id(id);
    m.set_respondent_ref("INV-30");
    m.set_wave("2024");
    m.set_instrument(v1::VEILIGHEIDSMONITOR);
    m.set_wijk("cool");
    m.set_mode(mode_interviewer.empty() ? v1::PAPER : v1::PHONE);
    // Each its own second (r-30 first), and a phone interview of 20 minutes.
    const int64_t submitted = Local("2023-04-12 12:00:00") / kNanosPerSecond + 60 * (id.back() - '0');
    m.mutable_submitted_at()->set_seconds(submitted);
    if (!mode_interviewer.empty()) {
      m.set_interviewer_id(mode_interviewer);
      m.mutable_started_at()->set_seconds(submitted - 1200);
    }
    m.set_age_band(v1::AGE_30_44);
    m.set_sex(v1::MALE);
    m.set_consent(true);
    for (int i = 1; i <= 14; ++i) {
      auto* a = m.add_answers();
      a->set_item(i < 10 ? "V0" + std::to_string(i) : "V" + std::to_string(i));
      a->set_value(1 + i % 3);
    }
    return m.SerializeAsString();
  };
  auto withdrawal = [](const std::string& wijk) {
    v1::Withdrawal w;
    w.set_respondent_ref("INV-30");
    w.set_wave("2024");
    w.set_wijk(wijk);
    return w.SerializeAsString();
  };
  const std::string responses = "wijkprofiel.responses.v1", withdrawals = "wijkprofiel.withdrawals.v1";
  // Responses keep their order (one partition); the withdrawal goes anywhere.
  const std::vector<std::pair<std::string, std::string>> rs = {
      {responses, response("r-30", "")}, {responses, response("r-31", "int-7")},
      {responses, response("r-32", "int-8")}, {responses, response("r-33", "")}};  // r-33: another respondent
  std::vector<std::pair<std::string, std::string>> last = rs;
  last[3].second = [&] {
    v1::SurveyResponse m;
    m.ParseFromString(response("r-33", ""));
    m.set_respondent_ref("INV-31");
    return m.SerializeAsString();
  }();
  for (const std::string& named : {std::string("cool"), std::string("")}) {
    std::optional<std::string> first;
    for (size_t at = 0; at <= last.size(); ++at) {
      for (bool commit_between : {false, true}) {
        std::vector<std::pair<std::string, std::string>> order = last;
        order.insert(order.begin() + static_cast<long>(at), {withdrawals, withdrawal(named)});
        testing::TempDir dir;
        auto store = *OpenStateStore(StoreOptions{dir.File("state")});
        RecordProcessor p(DefaultMethodology(), DefaultDistricts(), pseudonymiser,
                          [] { return Local("2026-01-01 00:00:00"); }, ProcessorOptions{});
        auto batch = store->NewBatch();
        InstanceState state;
        TaskChanges dirty;
        for (size_t i = 0; i < order.size(); ++i) {
          // Responses keep their offsets whatever the position of the withdrawal.
          SourceRecord r{order[i].first, 0, static_cast<int64_t>(i), "cool", order[i].second, ""};
          absl::StatusOr<RecordResult> result = p.Process(r, *batch, state, dirty);
          ASSERT_TRUE(result.ok()) << result.status();
          if (at == last.size() && result->response_id == "r-31") {  // before the withdrawal: a second response
            EXPECT_EQ(result->reason, RejectReason::kDuplicateRespondent);
          }
          if (at == 0 && result->response_id == "r-30") {
            EXPECT_EQ(result->reason, RejectReason::kWithdrawn);
          }
          if (commit_between) {
            PutAggregates(*batch, state, dirty);
            dirty.clear();
            ASSERT_TRUE(store->Commit(*batch).ok());
            batch = store->NewBatch();
          }
        }
        PutAggregates(*batch, state, dirty);
        ASSERT_TRUE(store->Commit(*batch).ok());
        EXPECT_TRUE(Contains(Dump(*store, state), "r-31: rejected WITHDRAWN")) << Dump(*store, state);
        const WijkState& cool = *Find(state, StateKey{"2024", "cool"});
        // Nothing of INV-30 is counted: neither its answers nor a rejection
        // of its second and third response.
        EXPECT_EQ(cool.quality.total.rejected[static_cast<int>(RejectReason::kDuplicateRespondent)], 0)
            << "withdrawal " << (named.empty() ? "wave-wide" : "in cool") << " at " << at;
        EXPECT_EQ(cool.quality.total.accepted, 1) << "r-33 of another respondent";
        const std::string dump = Dump(*store, state);
        if (!first) {
          first = dump;
        } else {
          EXPECT_EQ(dump, *first) << "withdrawal " << (named.empty() ? "wave-wide" : "in cool") << " at " << at
                                  << (commit_between ? ", committing after every record" : "");
        }
        // A rebuild from the stored responses agrees.
        absl::StatusOr<TaskStates> rebuilt = RecomputeAggregates(*store, DefaultMethodology(), DefaultDistricts(), nullptr);
        ASSERT_TRUE(rebuilt.ok());
        EXPECT_TRUE(*rebuilt == state.tasks) << "rebuild, withdrawal at " << at;
      }
    }
  }
}

// Each responses partition is a task with its own state. A withdrawal
// reaches the task that counted the respondent, and a task that appears
// later (its first record, here or after a restart) has every withdrawal
// read so far applied first: its responses of the respondent are WITHDRAWN.
TEST_F(Processor, AWithdrawalReachesEveryTaskAndTheTasksThatAppearLater) {
  partition_ = 3;
  EXPECT_EQ(Feed(Response("r-1", "INV-1")).outcome, Outcome::kAccepted);
  partition_ = 0;  // of the withdrawals topic: not a task
  const RecordResult w = Withdraw("INV-1", "");
  EXPECT_EQ(w.withdrawal, WithdrawalOutcome::kErased);
  EXPECT_EQ(w.erased, 1);
  partition_ = 5;
  EXPECT_EQ(Feed(Response("r-2", "INV-1")).reason, RejectReason::kWithdrawn);
  EXPECT_EQ(Feed(Response("r-3", "INV-2")).outcome, Outcome::kAccepted);
  EXPECT_EQ(state_.tasks.size(), 2u);
  ASSERT_TRUE(state_.tasks.count(3) && state_.tasks.count(5));
  EXPECT_EQ(state_.tasks.at(3).Find(StateKey{"2024", "cool"})->quality.total.accepted, 0);
  EXPECT_EQ(state_.tasks.at(5).Find(StateKey{"2024", "cool"})->quality.total.accepted, 1);
  EXPECT_EQ(Cell().accepted, 0);  // task 0 holds nothing
  PutAggregates(*batch_, state_, dirty_);
  Commit();

  // After a restart: the tasks and the tombstone table come back from the store.
  InstanceState loaded;
  ASSERT_TRUE(store_->LoadAggregates(DefaultMethodology(), loaded.tasks).ok());
  ASSERT_TRUE(store_->LoadWithdrawn(loaded.withdrawn).ok());
  EXPECT_TRUE(loaded.tasks == state_.tasks);
  ASSERT_EQ(loaded.withdrawn.size(), 1u);
  EXPECT_EQ(loaded.withdrawn[0].wave, "2024");
  EXPECT_EQ(loaded.withdrawn[0].wijk, "");
  state_ = std::move(loaded);
  partition_ = 7;
  EXPECT_EQ(Feed(Response("r-4", "INV-1")).reason, RejectReason::kWithdrawn);
  EXPECT_EQ(Feed(Response("r-5", "INV-3")).outcome, Outcome::kAccepted);
  // A response id is known within its task only (a wijk's records are in one partition).
  partition_ = 3;
  EXPECT_EQ(Feed(Response("r-1", "INV-1")).outcome, Outcome::kDuplicate);
}

TEST_F(Processor, RecordsAreCountedWhereTheyCanBeAttributed) {
  EXPECT_EQ(Feed(std::string("\x0f\xff", 2)).reason, RejectReason::kDecodeError);
  v1::SurveyResponse unknown = Response("r-12", "INV-12");
  unknown.set_wijk("atlantis");
  EXPECT_EQ(Feed(unknown).reason, RejectReason::kUnknownWijk);
  const WijkState* nowhere = Find(state_, StateKey{"", ""});
  ASSERT_NE(nowhere, nullptr);
  EXPECT_EQ(nowhere->quality.total.rejected[static_cast<int>(RejectReason::kDecodeError)], 1);
  const WijkState* wave_only = Find(state_, StateKey{"2024", ""});
  ASSERT_NE(wave_only, nullptr);
  EXPECT_EQ(wave_only->quality.total.rejected[static_cast<int>(RejectReason::kUnknownWijk)], 1);
  EXPECT_TRUE(dirty_[0].count(StateKey{"", ""}));
}

TEST_F(Processor, OversizedRecordsAreRejectedBeforeDecoding) {
  ProcessorOptions small;
  small.max_record_bytes = 1024;
  RecordProcessor p(DefaultMethodology(), DefaultDistricts(), pseudonymiser_, [] { return Local("2026-01-01 00:00:00"); },
                    small);
  std::string big(2000, 'x');
  SourceRecord r{"wijkprofiel.responses.v1", 0, 1, "cool", big, ""};
  absl::StatusOr<RecordResult> result = p.Process(r, *batch_, state_, dirty_);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->reason, RejectReason::kOversized);
}

// pipeline.max_record_bytes limits what the record costs: key, value and
// headers. A 900 KB key with a small value was accepted (issue #18, item 10).
TEST_F(Processor, TheRecordLimitCountsKeyValueAndHeadersOfResponsesAndWithdrawals) {
  ProcessorOptions small;
  small.max_record_bytes = 1024;
  RecordProcessor p(DefaultMethodology(), DefaultDistricts(), pseudonymiser_, [] { return Local("2026-01-01 00:00:00"); },
                    small);
  const std::string response = Response("r-size", "INV-size").SerializeAsString();
  v1::Withdrawal w;
  w.set_respondent_ref("INV-size");
  w.set_wave("2024");
  const std::string withdrawal = w.SerializeAsString();
  ASSERT_LT(response.size(), 512u);
  const std::string big_key(900 * 1024, 'k');
  struct Case {
    std::string topic, value;
    std::string_view key;
    int64_t header_bytes;
    bool oversized;
  };
  const Case cases[] = {
      {"wijkprofiel.responses.v1", response, "cool", 0, false},
      {"wijkprofiel.responses.v1", response, big_key, 0, true},
      {"wijkprofiel.responses.v1", response, "cool", 1024 - 4 - static_cast<int64_t>(response.size()), false},
      {"wijkprofiel.responses.v1", response, "cool", 1025 - 4 - static_cast<int64_t>(response.size()), true},
      {"wijkprofiel.withdrawals.v1", withdrawal, "", 0, false},
      {"wijkprofiel.withdrawals.v1", withdrawal, big_key, 0, true},
      {"wijkprofiel.withdrawals.v1", withdrawal, "", 2000, true},
  };
  int64_t offset = 100;
  for (const Case& c : cases) {
    SourceRecord r{c.topic, 0, offset++, c.key, c.value, ""};
    r.header_bytes = c.header_bytes;
    absl::StatusOr<RecordResult> result = p.Process(r, *batch_, state_, dirty_);
    ASSERT_TRUE(result.ok());
    EXPECT_EQ(result->reason == RejectReason::kOversized, c.oversized)
        << c.topic << " key " << c.key.size() << " headers " << c.header_bytes << ": " << result->detail;
    if (c.oversized) {
      EXPECT_EQ(result->detail, Cat("record of ", RecordBytes(r), " bytes (key, value and headers) is larger than "
                                    "the limit of 1024"));
    }
  }
}

// A response produced to the withdrawals topic parsed as a Withdrawal of its
// respondent (shared fields: respondent_ref, wave), and erased the counted
// response (issue #18, item 10). It is a DECODE_ERROR and withdraws nobody.
TEST_F(Processor, AResponseOnTheWithdrawalsTopicIsADecodeErrorAndWithdrawsNobody) {
  const v1::SurveyResponse m = Response("r-30", "INV-30");
  ASSERT_EQ(Feed(m).outcome, Outcome::kAccepted);
  ASSERT_EQ(Cell().accepted, 1);
  std::string json;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(m, &json).ok());
  google::protobuf::util::JsonPrintOptions snake;
  snake.preserve_proto_field_names = true;
  std::string json_snake;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(m, &json_snake, snake).ok());
  struct Case {
    std::string value, content_type;
  };
  for (const Case& c : {Case{m.SerializeAsString(), ""}, Case{json, "application/json"}, Case{json_snake, "application/json"}}) {
    SourceRecord r{"wijkprofiel.withdrawals.v1", 0, offset_++, "cool", c.value, c.content_type};
    absl::StatusOr<RecordResult> result = processor_.Process(r, *batch_, state_, dirty_);
    ASSERT_TRUE(result.ok()) << result.status();
    EXPECT_EQ(result->kind, RecordKind::kWithdrawal);
    EXPECT_EQ(result->withdrawal, WithdrawalOutcome::kRejected) << c.content_type;
    EXPECT_EQ(result->reason, RejectReason::kDecodeError) << c.content_type;
    EXPECT_TRUE(Contains(result->detail, "not a Withdrawal: it has fields of a SurveyResponse (")) << result->detail;
    EXPECT_EQ(result->erased, 0);
  }
  EXPECT_EQ(Cell().accepted, 1);  // still counted
  EXPECT_EQ(Feed(m).outcome, Outcome::kDuplicate);
  // A real withdrawal still withdraws.
  EXPECT_EQ(Withdraw("INV-30", "cool").withdrawal, WithdrawalOutcome::kErased);
  EXPECT_EQ(Cell().accepted, 0);
}

TEST_F(Processor, TheWatermarkIsTheLatestSubmissionThatPassedTheChecks) {
  v1::SurveyResponse a = Response("r-20", "INV-20");
  Feed(a);
  v1::SurveyResponse late_but_invalid = Response("r-21", "INV-21");
  late_but_invalid.mutable_submitted_at()->set_seconds(Local("2023-09-09 12:00:00") / kNanosPerSecond);
  late_but_invalid.set_consent(false);
  Feed(late_but_invalid);
  EXPECT_EQ(SumOfTasks(state_.tasks).Watermark("2024"), Local("2023-04-12 12:00:00"));
  v1::SurveyResponse dup = Response("r-22", "INV-20");  // DUPLICATE_RESPONDENT passed the checks
  dup.mutable_submitted_at()->set_seconds(Local("2023-05-01 09:00:00") / kNanosPerSecond);
  EXPECT_EQ(Feed(dup).reason, RejectReason::kDuplicateRespondent);
  EXPECT_EQ(SumOfTasks(state_.tasks).Watermark("2024"), Local("2023-05-01 09:00:00"));
}

// Prepare (decode, field checks, pseudonym) may run ahead on another thread;
// a record prepared against a register that was reloaded before it was
// applied is checked again against the current one.
TEST_F(Processor, ARecordPreparedBeforeARegisterReloadIsCheckedAgainstTheNewRegister) {
  absl::StatusOr<DistrictRegister> without_cool = RegisterWithoutCool();
  ASSERT_TRUE(without_cool.ok()) << without_cool.status();

  const std::string value = Response("r-30", "INV-30").SerializeAsString();
  SourceRecord r{"wijkprofiel.responses.v1", 0, 1, "cool", value, ""};
  PreparedRecord prepared;
  processor_.Prepare(r, DefaultDistricts(), Local("2026-01-01 00:00:00"), prepared);
  ASSERT_TRUE(prepared.done);
  EXPECT_FALSE(prepared.check.reason.has_value());  // "cool" is in the register it was checked against

  processor_.SetDistricts(*without_cool);
  absl::StatusOr<RecordResult> result = processor_.Apply(r, prepared, *batch_, nullptr, state_, dirty_);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->reason, RejectReason::kUnknownWijk);
  EXPECT_EQ(Cell().accepted, 0);

  // Prepared against the current register, it is applied as prepared.
  processor_.SetDistricts(DefaultDistricts());
  const std::string value2 = Response("r-31", "INV-31").SerializeAsString();
  SourceRecord r2{"wijkprofiel.responses.v1", 0, 2, "cool", value2, ""};
  processor_.Prepare(r2, DefaultDistricts(), Local("2026-01-01 00:00:00"), prepared);
  result = processor_.Apply(r2, prepared, *batch_, nullptr, state_, dirty_);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result->outcome, Outcome::kAccepted);
  EXPECT_EQ(Cell().accepted, 1);
}

}  // namespace
}  // namespace wijkpuls

namespace wijkpuls {
namespace {

// A dead letter carries the original bytes, the reason by its wire name, and
// where the record came from, as the contract's Rejection and as headers.
TEST(RejectionRecord, CarriesTheOriginalTheReasonAndTheSource) {
  SourceRecord record;
  record.topic = "wijkprofiel.responses.v1";
  record.partition = 3;
  record.offset = 41;
  record.key = "r-1";
  record.value = "not a response";
  record.content_type = "application/json";
  RecordResult result;
  result.reason = RejectReason::kDecodeError;
  result.detail = "not JSON";
  result.response_id = "r-1";
  const OutgoingRecord out = RejectionRecord(record, result, "rejected.v1");
  EXPECT_EQ(out.topic, "rejected.v1");
  EXPECT_EQ(out.key, "r-1");
  v1::Rejection rej;
  ASSERT_TRUE(rej.ParseFromString(out.value));
  EXPECT_EQ(rej.reason(), v1::DECODE_ERROR);
  EXPECT_EQ(rej.detail(), "not JSON");
  EXPECT_EQ(rej.original(), "not a response");
  EXPECT_EQ(rej.source_topic(), "wijkprofiel.responses.v1");
  EXPECT_EQ(rej.source_partition(), 3);
  EXPECT_EQ(rej.source_offset(), 41);
  EXPECT_EQ(rej.original_content_type(), "application/json");
  const std::vector<std::pair<std::string, std::string>> headers = {
      {"wijkpuls-reason", "DECODE_ERROR"},
      {"wijkpuls-source", "wijkprofiel.responses.v1/3/41"},
      {"content-type", "application/x-protobuf"}};
  EXPECT_EQ(out.headers, headers);
}

}  // namespace
}  // namespace wijkpuls
