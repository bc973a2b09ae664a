// libFuzzer target over the path of an input record: DecodeResponse (binary
// or the protobuf JSON mapping), CheckFields with the default methodology and
// register, EvaluateFlags when the checks pass, and DecodeWithdrawal; for a
// subset of inputs (sequences, see record_input.h), the records in order
// through RecordProcessor::Process on a RocksDB state directory. Besides the
// sanitizers, it aborts when an invariant that the rules and the design
// promise does not hold (Require below).
//
// `record_fuzz --write-seeds DIR` writes the seed corpus (seed_corpus.h).
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "validate/decode.h"
#include "validate/json_fast.h"
#include "model/log.h"
#include "process/record_processor.h"
#include "store/state_store.h"
#include "tests/fuzz/field_mutator.h"
#include "tests/fuzz/record_input.h"
#include "tests/fuzz/seed_corpus.h"
#include "model/district_register.h"
#include "model/methodology.h"
#include "validate/pseudonymiser.h"
#include "validate/rules.h"
#include "wijkpuls/v1/wijkpuls.pb.h"

#ifndef WIJKPULS_SOURCE_DIR
#error "WIJKPULS_SOURCE_DIR must be defined"
#endif

namespace wijkpuls::fuzz {
namespace {

// Aborts with a message: libFuzzer keeps the input as a crash artifact.
void Require(bool holds, std::string_view what) {
  if (holds) return;
  std::fprintf(stderr, "record_fuzz: invariant violated: %.*s\n", static_cast<int>(what.size()),
               what.data());
  std::abort();
}

// Everything the target needs, built once and never destroyed (the store is
// closed at exit, see RemoveStateDir).
struct Env {
  Methodology methodology;
  DistrictRegister districts;
  std::unique_ptr<Pseudonymiser> pseudonymiser;
  std::string state_dir;
  std::unique_ptr<StateStore> store;
  std::unique_ptr<RecordProcessor> processor;
  UnixNanos now = 0;  // a fixed processing clock: the target must be deterministic
  EdgeValues edges;   // for the structure-aware mutator
};
Env* env = nullptr;

void RemoveStateDir() {
  if (env == nullptr) return;
  env->processor.reset();
  env->store.reset();
  std::error_code ec;
  std::filesystem::remove_all(env->state_dir, ec);
}

Env* MakeEnv() {
  auto* e = new Env;
  const std::string src = WIJKPULS_SOURCE_DIR;
  absl::StatusOr<Methodology> m = LoadMethodology(src + "/config/methodology.yaml");
  Require(m.ok(), "the default methodology loads");
  e->methodology = std::move(*m);
  absl::StatusOr<DistrictRegister> d = DistrictRegister::Load(src + "/config/districts.csv");
  Require(d.ok(), "the default register loads");
  e->districts = std::move(*d);
  e->pseudonymiser = std::make_unique<Pseudonymiser>(*Pseudonymiser::FromKey(std::string(32, 'k')));
  e->now = absl::ToUnixNanos(
      absl::FromCivil(absl::CivilSecond(2026, 1, 1, 0, 0, 0), e->methodology.time_zone));
  e->edges = MakeEdgeValues(e->methodology, e->districts, e->now);
  return e;
}

void OpenStore(Env& e) {
  const char* tmp = std::getenv("TMPDIR");
  std::string dir =
      std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/record_fuzz-XXXXXX";
  Require(mkdtemp(dir.data()) != nullptr, "mkdtemp for the state directory");
  e.state_dir = dir;
  StoreOptions options;
  options.dir = dir + "/state";
  options.block_cache_bytes = 8 << 20;
  options.write_buffer_bytes = 4 << 20;
  options.sync_writes = false;
  absl::StatusOr<std::unique_ptr<StateStore>> store = OpenStateStore(options);
  Require(store.ok(), "the state store opens");
  e.store = std::move(*store);
  const UnixNanos now = e.now;
  e.processor = std::make_unique<RecordProcessor>(
      e.methodology, e.districts, *e.pseudonymiser, [now] { return now; }, ProcessorOptions{});
  std::atexit(RemoveStateDir);
}

// What CheckFields promises of a response that passed.
void CheckPassed(const RawResponse& raw, const FieldCheck& fc) {
  const Methodology& m = env->methodology;
  const CountedResponse& r = fc.response;
  Require(fc.attribution.HasCell(), "a passed response has a cell");
  Require(r.wijk >= 0 && static_cast<size_t>(r.wijk) < env->districts.wijken().size(),
          "the wijk index is in the register");
  Require(env->districts.wijken()[r.wijk].id == raw.wijk, "the wijk is the one sent");
  Require(r.wave == raw.wave, "the wave is the one sent");
  const Wave* wave = m.FindWave(r.wave);
  Require(wave != nullptr, "the wave is configured");
  Require(r.submitted_at >= wave->window_start && r.submitted_at < wave->grace_end,
          "submitted_at is in the window or its grace");
  Require(!r.started_at || *r.started_at <= r.submitted_at, "started_at is not after submitted_at");
  Require(r.answers.size() + r.dropped_items.size() + static_cast<size_t>(r.unknown_items) +
                  static_cast<size_t>(r.other_instrument_items) ==
              raw.answers.size(),
          "every answer entry is kept, dropped, unknown or of the other instrument");
  int previous = -1;
  for (const ItemAnswer& a : r.answers) {
    Require(a.item > previous, "kept answers are in codebook order, one per item");
    previous = a.item;
    Require(a.item < m.codebook.items().size(), "a kept item is in the codebook");
    const ItemDef& def = m.codebook.items()[a.item];
    Require(def.instrument == r.instrument, "a kept item is of the response's instrument");
    Require(IsMissingCode(a.value) || def.IsSubstantive(a.value), "a kept code is valid");
  }
}

// Differential: where the fast JSON path accepts a text, protobuf's own JSON
// parser must accept it too, and the protobuf path must decode it alike.
void CheckFastJson(std::string_view value) {
  absl::StatusOr<RawResponse> got = DecodeResponse(value, kJsonContentType);
  absl::StatusOr<RawResponse> ref = DecodeResponseWithProtobuf(value, kJsonContentType);
  Require(got.ok() == ref.ok(), "the fast JSON path accepts only what protobuf's parser accepts");
  if (got.ok()) Require(*got == *ref, "the fast JSON path decodes as protobuf's parser does");
}

// Differential: the fast binary path, where it takes the bytes, decodes them
// exactly as protobuf's parser does (DecodeResponse falls back to it otherwise).
void CheckFastBinary(std::string_view value) {
  absl::StatusOr<RawResponse> got = DecodeResponse(value, "");
  absl::StatusOr<RawResponse> ref = DecodeResponseWithProtobuf(value, "");
  Require(got.ok() == ref.ok(), "the fast binary path accepts only what protobuf's parser accepts");
  if (got.ok()) Require(*got == *ref, "the fast binary path decodes as protobuf's parser does");
}

void RunDirect(std::string_view value, std::string_view content_type) {
  if (content_type == kJsonContentType) CheckFastJson(value);
  if (content_type.empty()) CheckFastBinary(value);
  absl::StatusOr<RawResponse> raw = DecodeResponse(value, content_type);
  if (raw.ok()) {
    const RuleContext ctx{env->methodology, env->districts, env->now};
    FieldCheck fc = CheckFields(*raw, ctx);
    if (fc.reason) {
      Require(!fc.detail.empty(), "a rejection says why");
    } else {
      CheckPassed(*raw, fc);
      const FlagSet flags = EvaluateFlags(fc.response, env->methodology);
      Require(flags.bits() < (1u << kQualityFlagCount), "flags are known flags");
    }
  } else {
    Require(!raw.status().message().empty(), "a decode error says why");
  }
  absl::StatusOr<RawWithdrawal> w = DecodeWithdrawal(value, content_type);
  if (!w.ok()) Require(!w.status().message().empty(), "a decode error says why");
}

// Exactly one outcome per record, consistent with its dead letter.
void CheckResult(const RecordResult& r) {
  if (r.kind == RecordKind::kWithdrawal) {
    Require((r.withdrawal == WithdrawalOutcome::kRejected) == r.reason.has_value(),
            "a withdrawal is dead-lettered exactly when it is rejected");
    return;
  }
  Require((r.outcome == Outcome::kRejected) == r.reason.has_value(),
          "a response is dead-lettered exactly when it is rejected");
  Require(r.outcome != Outcome::kAccepted || r.flags.Empty(), "an accepted response has no flag");
  Require(r.outcome != Outcome::kFlagged || !r.flags.Empty(), "a flagged response has a flag");
  Require(!r.reason || !r.detail.empty(), "a rejection says why");
}

void CheckGroup(const QualityGroup& g) {
  Require(g.accepted >= 0 && g.flagged >= 0 && g.answers >= 0 && g.dont_know >= 0 &&
              g.refused >= 0 && g.not_applicable >= 0,
          "quality counts are >= 0");
  for (int64_t n : g.by_flag) Require(n >= 0, "quality counts by flag are >= 0");
  for (int64_t n : g.rejected) Require(n >= 0, "quality counts by reason are >= 0");
  for (const auto& [seconds, n] : g.durations.Sorted()) Require(n > 0, "duration counts are > 0");
}

// Counts are added and removed with the same sign: they never go below zero.
void CheckNonNegative(const FieldworkState& state) {
  for (const auto& [key, ws] : state.wijken()) {
    for (const CellTally& c : ws->cells) {
      Require(c.accepted >= 0 && c.flagged >= 0 && c.rejected >= 0, "cell counts are >= 0");
    }
    for (const auto& [day, t] : ws->days) {
      for (int i = 0; i < kInstrumentCount; ++i) {
        Require(t.accepted[i] >= 0 && t.flagged[i] >= 0, "day counts are >= 0");
      }
    }
    for (const SufficientStats& st : ws->stats)
      Require(st.n >= 0 && st.sumsq >= 0, "stats are >= 0");
    CheckGroup(ws->quality.total);
    for (const QualityGroup& g : ws->quality.by_mode) CheckGroup(g);
    for (const auto& [id, g] : ws->quality.by_interviewer) CheckGroup(g);
    for (const auto& [item, n] : ws->quality.dropped_by_item)
      Require(n > 0, "dropped counts are > 0");
    Require(ws->quality.unknown_items >= 0 && ws->quality.other_instrument_items >= 0,
            "stray item counts are >= 0");
  }
}

// The first field in which a stored response differs from the one counted;
// empty when equal. A withdrawal removes exactly what the stored form adds.
std::string_view Differs(const CountedResponse& a, const CountedResponse& b) {
  if (a.response_id != b.response_id) return "response_id";
  if (a.respondent != b.respondent) return "respondent";
  if (a.wave != b.wave) return "wave";
  if (a.wijk != b.wijk) return "wijk";
  if (a.instrument != b.instrument) return "instrument";
  if (a.mode != b.mode) return "mode";
  if (a.age_band != b.age_band) return "age_band";
  if (a.sex != b.sex) return "sex";
  if (a.started_at != b.started_at) return "started_at";
  if (a.submitted_at != b.submitted_at) return "submitted_at";
  if (a.interviewer_id != b.interviewer_id) return "interviewer_id";
  if (a.instrument_version != b.instrument_version) return "instrument_version";
  if (a.answers != b.answers) return "answers";
  if (a.dropped_items != b.dropped_items) return "dropped_items";
  if (a.unknown_items != b.unknown_items) return "unknown_items";
  if (a.other_instrument_items != b.other_instrument_items) return "other_instrument_items";
  if (a.flags != b.flags) return "flags";
  return "";
}

// A counted response reads back from the batch as it was counted.
void CheckStored(const SourceRecord& record, StateBatch& batch) {
  absl::StatusOr<RawResponse> raw = DecodeResponse(record.value, record.content_type);
  Require(raw.ok(), "a counted record decodes");
  FieldCheck fc = CheckFields(*raw, RuleContext{env->methodology, env->districts, env->now});
  Require(!fc.reason, "a counted record passes the field checks");
  CountedResponse& expected = fc.response;
  expected.respondent = env->pseudonymiser->Of(expected.wave, raw->respondent_ref);
  expected.flags = EvaluateFlags(expected, env->methodology);
  // Stored in its respondent's claim (one key), not under its id.
  absl::StatusOr<std::optional<ResponseRecord>> by_id =
      batch.GetResponse(0, raw->wave, raw->wijk, raw->response_id, env->methodology);
  Require(by_id.ok() && !by_id->has_value(), "a counted response is not stored under its id");
  absl::StatusOr<RespondentRecord> claim = batch.GetRespondent(0, raw->wave, raw->wijk, expected.respondent);
  Require(claim.ok() && claim->state == RespondentState::kClaimed && claim->response_id == raw->response_id,
          "a counted response claims its respondent");
  absl::StatusOr<std::optional<ResponseRecord>> stored =
      batch.GetClaimed(0, raw->wave, raw->wijk, *claim, env->methodology);
  Require(stored.ok(), "a counted response reads back");
  Require(stored->has_value() && (*stored)->response.has_value(), "a counted response is stored");
  const std::string_view field = Differs(*(*stored)->response, expected);
  if (!field.empty()) {
    Require(false, Cat("a counted response reads back as counted (", field, " differs)"));
  }
}

// Processes one record; a response with a well-formed id is processed again
// at once and must then be a duplicate without any effect.
void ProcessOne(const SourceRecord& record, StateBatch& batch, InstanceState& state,
                TaskChanges& dirty) {
  absl::StatusOr<RecordResult> result = env->processor->Process(record, batch, state, dirty);
  Require(result.ok(), "Process succeeds on a healthy state store");
  CheckResult(*result);
  if (result->kind != RecordKind::kResponse || result->response_id.empty()) return;
  if (result->outcome == Outcome::kAccepted || result->outcome == Outcome::kFlagged) {
    CheckStored(record, batch);
  }
  Require(result->outcome != Outcome::kDuplicate || !result->DeadLetter(),
          "a duplicate is not dead-lettered");
  const TaskStates before = state.tasks;
  SourceRecord again = record;
  again.offset += 1;
  absl::StatusOr<RecordResult> second = env->processor->Process(again, batch, state, dirty);
  Require(second.ok(), "Process succeeds on a healthy state store");
  Require(second->outcome == Outcome::kDuplicate && !second->DeadLetter(),
          "the same response again is a duplicate");
  Require(state.tasks == before, "a duplicate has no effect on the aggregates");
}

void RunSequence(std::string_view rest) {
  if (env->store == nullptr) OpenStore(*env);
  const ProcessorOptions& options = env->processor->options();
  std::unique_ptr<StateBatch> batch = env->store->NewBatch();
  InstanceState state;
  TaskChanges dirty;
  int64_t offset = 0;
  for (const SequencePart& part : SplitSequence(rest)) {
    const std::string_view content_type = (part.header & kJson) ? kJsonContentType : "";
    RunDirect(part.value, content_type);
    SourceRecord record;
    record.topic =
        (part.header & kWithdrawals) ? options.withdrawals_topic : options.responses_topic;
    record.offset = offset;
    offset += 2;  // ProcessOne may read it again at offset + 1
    record.value = part.value;
    record.content_type = content_type;
    ProcessOne(record, *batch, state, dirty);
  }
  // The store writes a batch's quality tallies as the changes it recorded:
  // from nothing, those changes must add up to the tallies themselves.
  for (const auto& [task, tstate] : state.tasks) {
    const ChangedAggregates& changed = dirty[task];
    Require(changed.size() == tstate.wijken().size(), "every aggregate changed is recorded as changed");
    for (const auto& [key, ws] : tstate.wijken()) {
      auto it = changed.find(key);
      Require(it != changed.end() && it->second == ws->quality,
              "the recorded changes add up to the quality tally");
    }
    CheckNonNegative(tstate);
  }
}

}  // namespace
}  // namespace wijkpuls::fuzz

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) {
  using namespace wijkpuls::fuzz;
  spdlog::set_level(spdlog::level::off);
  wijkpuls::QuietProtobufLogging();
  env = MakeEnv();
  if (*argc == 3 && std::string_view((*argv)[1]) == "--write-seeds") {
    const int n = WriteSeedCorpus(env->methodology, env->districts, (*argv)[2]);
    std::fprintf(stderr, "record_fuzz: wrote %d seeds to %s\n", n, (*argv)[2]);
    std::exit(n > 0 ? 0 : 1);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace wijkpuls::fuzz;
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] & kSequence) {
    RunSequence(rest);
  } else {
    RunDirect(rest, (data[0] & kJson) ? wijkpuls::kJsonContentType : "");
  }
  return 0;
}

// Half of the mutations are structure-aware (field_mutator.h), the rest
// libFuzzer's own byte-level ones.
extern "C" size_t LLVMFuzzerMutate(uint8_t* data, size_t size, size_t max_size);
extern "C" size_t LLVMFuzzerCustomMutator(uint8_t* data, size_t size, size_t max_size,
                                          unsigned int seed) {
  using namespace wijkpuls::fuzz;
  if (seed % 2 == 0) {
    std::optional<std::string> out = MutateStructure(
        std::string_view(reinterpret_cast<const char*>(data), size), env->edges, seed / 2);
    if (out && !out->empty() && out->size() <= max_size) {
      std::memcpy(data, out->data(), out->size());
      return out->size();
    }
  }
  return LLVMFuzzerMutate(data, size, max_size);
}
