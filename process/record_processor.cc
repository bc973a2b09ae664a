#include "process/record_processor.h"

#include <chrono>

#include "validate/decode.h"
#include "score/wijk_state.h"
#include "model/text.h"

namespace wijkpuls {

std::string_view Name(WithdrawalOutcome o) {
  switch (o) {
    case WithdrawalOutcome::kErased:
      return "erased";
    case WithdrawalOutcome::kRecorded:
      return "recorded";
    case WithdrawalOutcome::kRejected:
      return "rejected";
  }
  return "unknown";
}

UnixNanos SystemClock() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

StateKey AttributionKey(const Attribution& a, const DistrictRegister& districts) {
  StateKey key;
  if (a.wave) {
    key.wave = a.wave->id;
    if (a.wijk) key.wijk = districts.wijken()[*a.wijk].id;
  }
  return key;
}

namespace {

// What is stored of a withdrawn respondent's response: its time (the
// watermark keeps it), nothing that describes the respondent.
Attribution Stored(const Attribution& a, RejectReason reason) {
  if (reason != RejectReason::kWithdrawn) return a;
  Attribution kept;
  kept.submitted_at = a.submitted_at;
  return kept;
}

std::string OversizedDetail(const SourceRecord& record, int64_t limit) {
  return Cat("record of ", RecordBytes(record), " bytes (key, value and headers) is larger than the limit of ", limit);
}
}  // namespace

std::string SourceRecordId(const SourceRecord& record) {
  return Cat("@", record.topic, "/", record.partition, "/", record.offset);
}

RecordProcessor::RecordProcessor(const Methodology& methodology, const DistrictRegister& districts,
                                 const Pseudonymiser& pseudonymiser, Clock clock,
                                 ProcessorOptions options)
    : methodology_(methodology),
      districts_(&districts),
      pseudonymiser_(pseudonymiser),
      clock_(std::move(clock)),
      options_(std::move(options)) {}

absl::StatusOr<RecordResult> RecordProcessor::Process(const SourceRecord& record, StateBatch& batch,
                                                      InstanceState& state, TaskChanges& dirty) {
  PreparedRecord prepared;
  return Apply(record, prepared, batch, nullptr, state, dirty);
}

void RecordProcessor::Prepare(const SourceRecord& record, const DistrictRegister& districts,
                              UnixNanos now, PreparedRecord& out) const {
  out.done = record.topic != options_.withdrawals_topic;  // withdrawals need the state first
  if (!out.done) return;
  out.districts = &districts;
  out.task = TaskOf(record);
  out.oversized = false;
  out.decode_error = absl::OkStatus();
  out.lookups = {};
  if (RecordBytes(record) > options_.max_record_bytes) {
    out.oversized = true;
    return;
  }
  // Into the slot's own buffers: a reused slot allocates nothing for them.
  if (absl::Status st = DecodeResponse(record.value, record.content_type, out.raw); !st.ok()) {
    out.decode_error = std::move(st);
    return;
  }
  const RuleContext ctx{methodology_, districts, now};
  CheckFields(out.raw, ctx, out.check);
  const RawResponse& sent = out.raw;
  out.lookups.response = IsValidResponseId(sent.response_id);
  // A record that passes the field checks has all four, and its wave and
  // wijk are the register's ids: its claim is the key its respondent is
  // counted under.
  out.lookups.claim =
      out.lookups.response && !sent.wave.empty() && !sent.wijk.empty() && !sent.respondent_ref.empty();
  if (out.lookups.claim) out.respondent = pseudonymiser_.Of(sent.wave, sent.respondent_ref);
  out.lookups.respondent = !out.check.reason;
}

void RecordProcessor::AddLookups(const PreparedRecord& prepared, ReadAhead& out) const {
  if (!prepared.done) return;
  const RawResponse& raw = prepared.raw;
  if (prepared.lookups.response) out.AddResponse(prepared.task, raw.wave, raw.wijk, raw.response_id);
  if (prepared.lookups.claim) out.AddRespondent(prepared.task, raw.wave, raw.wijk, prepared.respondent);
  if (prepared.lookups.respondent) out.AddRespondent(prepared.task, raw.wave, "", prepared.respondent);
}

absl::StatusOr<RecordResult> RecordProcessor::Apply(const SourceRecord& record,
                                                    PreparedRecord& prepared, StateBatch& batch,
                                                    const ReadAhead* ahead, InstanceState& state,
                                                    TaskChanges& dirty) {
  if (record.topic == options_.withdrawals_topic) {
    return ProcessWithdrawal(record, batch, state, dirty);
  }
  if (!prepared.done || prepared.districts != districts_) {
    Prepare(record, *districts_, clock_(), prepared);
  }
  return ProcessResponse(record, prepared, batch, ahead, state, dirty);
}

void RecordProcessor::Reject(RecordResult& result, RejectReason reason, std::string detail,
                             const SourceRecord& record, int32_t task, std::string_view wave,
                             std::string_view wijk, const Attribution& attribution,
                             bool passed_checks, StateBatch& batch, FieldworkState& state,
                             ChangedAggregates& dirty) {
  result.outcome = Outcome::kRejected;
  result.reason = reason;
  result.detail = std::move(detail);
  // Remember it under its response_id (so a redelivery is a duplicate), or
  // under its source position when it has none (so rebuild can count it).
  batch.PutRejected(task, wave, wijk, result.response_id.empty() ? SourceRecordId(record) : result.response_id,
                    reason, Stored(attribution, reason), passed_checks);
  const StateKey key = AttributionKey(attribution, *districts_);
  WijkState& ws = state.Mutable(key);
  QualityTally& change = dirty[key];
  // A withdrawal removes the respondent from every count; its order against
  // the responses topic must not matter, so WITHDRAWN is counted nowhere.
  if (reason != RejectReason::kWithdrawn) ApplyRejected(ws, attribution, reason, &change);
  if (passed_checks && attribution.submitted_at) {
    ws.watermark = std::max(ws.watermark, *attribution.submitted_at);
  }
}

absl::StatusOr<RecordResult> RecordProcessor::ProcessResponse(const SourceRecord& record,
                                                              PreparedRecord& prepared,
                                                              StateBatch& batch,
                                                              const ReadAhead* ahead,
                                                              InstanceState& instance,
                                                              TaskChanges& changes) {
  RecordResult result;
  result.kind = RecordKind::kResponse;
  const Attribution nowhere;
  const int32_t task = TaskOf(record);
  auto [at, fresh] = instance.tasks.try_emplace(task);
  FieldworkState& state = at->second;
  ChangedAggregates& dirty = changes[task];
  if (fresh) {
    // The task's first record here: the withdrawals read so far apply to it
    // as if they had come first.
    for (const Tombstone& t : instance.withdrawn) {
      if (absl::StatusOr<int> n = Withdraw(task, t, batch, state, dirty); !n.ok()) return n.status();
    }
  }
  if (prepared.oversized) {
    Reject(result, RejectReason::kOversized, OversizedDetail(record, options_.max_record_bytes),
           record, task, "", "", nowhere, false, batch, state, dirty);
    return result;
  }
  if (!prepared.decode_error.ok()) {
    Reject(result, RejectReason::kDecodeError, std::string(prepared.decode_error.message()), record,
           task, "", "", nowhere, false, batch, state, dirty);
    return result;
  }
  const RawResponse& raw = prepared.raw;
  // A response_id seen before is a duplicate: one that was not counted is
  // stored under its id, a counted one in its respondent's claim.
  if (prepared.lookups.response) {
    result.response_id = raw.response_id;
    absl::StatusOr<std::optional<ResponseRecord>> seen =
        batch.GetResponse(task, raw.wave, raw.wijk, raw.response_id, methodology_, ahead);
    if (!seen.ok()) return seen.status();
    if (seen->has_value()) {
      result.outcome = Outcome::kDuplicate;
      return result;
    }
  }
  absl::StatusOr<RespondentRecord> here = RespondentRecord{};
  if (prepared.lookups.claim) {
    here = batch.GetRespondent(task, raw.wave, raw.wijk, prepared.respondent, ahead);
    if (!here.ok()) return here.status();
    if (here->state == RespondentState::kClaimed && here->response_id == raw.response_id) {
      result.outcome = Outcome::kDuplicate;
      return result;
    }
  }

  result.unknown_fields = raw.unknown_fields;
  FieldCheck& fc = prepared.check;
  if (fc.reason) {
    Reject(result, *fc.reason, std::move(fc.detail), record, task, raw.wave, raw.wijk, fc.attribution,
           false, batch, state, dirty);
    return result;
  }
  CountedResponse& r = fc.response;
  const std::string& wijk_id = districts_->wijken()[r.wijk].id;
  result.wijk = wijk_id;
  // The field checks passed: lookups.claim and lookups.respondent hold, and
  // the claim read above is the respondent's in r.wave and wijk_id (the ids
  // sent are the register's).
  r.respondent = prepared.respondent;
  absl::StatusOr<RespondentRecord> anywhere = batch.GetRespondent(task, r.wave, "", r.respondent, ahead);
  if (!anywhere.ok()) return anywhere.status();
  // One rule whatever order the two topics are read in: a withdrawn
  // respondent's responses count nowhere (WITHDRAWN). Before the withdrawal
  // the first claims the respondent and later ones are DUPLICATE_RESPONDENT,
  // remembered with the claim so that a withdrawal turns them into WITHDRAWN
  // too (ProcessWithdrawal).
  const bool withdrawn = here->state == RespondentState::kWithdrawn ||
                         anywhere->state == RespondentState::kWithdrawn;
  if (std::optional<RejectReason> reason = DecideRespondent(here->state, withdrawn)) {
    const bool duplicate = *reason == RejectReason::kDuplicateRespondent;
    std::string detail = duplicate ? Cat("another response of this respondent (", here->response_id,
                                         ") was already counted in wave ", r.wave)
                                   : "the respondent withdrew consent for this wave";
    Reject(result, *reason, std::move(detail), record, task, r.wave, wijk_id, fc.attribution, true,
           batch, state, dirty);
    if (duplicate) {
      RespondentRecord claim = std::move(*here);
      claim.duplicates.push_back(result.response_id.empty() ? SourceRecordId(record) : result.response_id);
      batch.PutRespondent(task, r.wave, wijk_id, r.respondent, claim);
    } else if (here->state != RespondentState::kWithdrawn) {
      // As a withdrawal naming the wijk would leave it: the same state in
      // either order.
      batch.PutRespondent(task, r.wave, wijk_id, r.respondent, RespondentRecord{RespondentState::kWithdrawn, "", {}, {}});
    }
    return result;
  }

  r.flags = EvaluateFlags(r, methodology_);
  result.flags = r.flags;
  result.outcome = r.flags.Empty() ? Outcome::kAccepted : Outcome::kFlagged;
  batch.PutCounted(task, r, wijk_id, result.outcome);  // the claim, holding the response
  const StateKey key{r.wave, wijk_id};
  WijkState& ws = state.Mutable(key);
  ApplyCounted(ws, r, result.outcome, methodology_, +1, &dirty[key]);
  ws.watermark = std::max(ws.watermark, r.submitted_at);
  return result;
}

// The withdrawn respondent's responses in `wijk` end as if the withdrawal had
// come first: the counted one is removed from every aggregate and stored as
// a WITHDRAWN rejection (its content deleted), and so is every later one that
// was rejected DUPLICATE_RESPONDENT (and counted as such) meanwhile.
absl::Status RecordProcessor::Unclaim(int32_t task, const Wave& wave, const std::string& wijk,
                                      const RespondentRecord& claim, StateBatch& batch,
                                      FieldworkState& state, ChangedAggregates& dirty) {
  const StateKey key{wave.id, wijk};
  absl::StatusOr<std::optional<ResponseRecord>> stored = batch.GetClaimed(task, wave.id, wijk, claim, methodology_);
  if (!stored.ok()) return stored.status();
  if (!stored->has_value() || !(*stored)->response) {
    return absl::DataLossError(Cat("the counted response ", claim.response_id, " of a respondent in ",
                                   wijk, " is not stored"));
  }
  const ResponseRecord& sr = **stored;
  ApplyCounted(state.Mutable(key), *sr.response, sr.outcome, methodology_, -1, &dirty[key]);
  batch.PutRejected(task, wave.id, wijk, claim.response_id, RejectReason::kWithdrawn,
                    Stored(AttributionOf(*sr.response, wave), RejectReason::kWithdrawn),
                    /*passed_checks=*/true);
  for (const std::string& id : claim.duplicates) {
    absl::StatusOr<std::optional<ResponseRecord>> dup = batch.GetResponse(task, wave.id, wijk, id, methodology_);
    if (!dup.ok()) return dup.status();
    if (!dup->has_value() || (*dup)->reason != RejectReason::kDuplicateRespondent) {
      return absl::DataLossError(Cat("the response ", id, " rejected as a second one of a respondent in ",
                                     wijk, " is not stored as such"));
    }
    Attribution a = (*dup)->attribution;
    a.wave = &wave;
    ApplyRejected(state.Mutable(key), a, RejectReason::kDuplicateRespondent, &dirty[key], -1);
    batch.PutRejected(task, wave.id, wijk, id, RejectReason::kWithdrawn, Stored(a, RejectReason::kWithdrawn),
                      (*dup)->passed_checks);
  }
  return absl::OkStatus();
}

absl::StatusOr<int> RecordProcessor::Withdraw(int32_t task, const Tombstone& t, StateBatch& batch,
                                              FieldworkState& state, ChangedAggregates& dirty) {
  const Wave* wave = methodology_.FindWave(t.wave);
  if (wave == nullptr) return 0;  // a wave no longer configured: nothing of it is counted
  std::vector<std::string> wijken;
  if (!t.wijk.empty()) {
    wijken.push_back(t.wijk);
  } else {
    // A counted response leaves its wijk's aggregate in the task: where there
    // is none, nothing was claimed.
    for (const auto& [key, w] : state.wijken()) {
      if (key.wave == t.wave && !key.wijk.empty()) wijken.push_back(key.wijk);
    }
  }
  const RespondentRecord withdrawn{RespondentState::kWithdrawn, "", {}, {}};
  int erased = 0;
  for (const std::string& wijk : wijken) {
    absl::StatusOr<RespondentRecord> rec = batch.GetRespondent(task, wave->id, wijk, t.respondent);
    if (!rec.ok()) return rec.status();
    if (rec->state == RespondentState::kClaimed) {
      if (absl::Status st = Unclaim(task, *wave, wijk, *rec, batch, state, dirty); !st.ok()) return st;
      ++erased;
    }
    if (rec->state == RespondentState::kClaimed || (!t.wijk.empty() && rec->state != RespondentState::kWithdrawn)) {
      batch.PutRespondent(task, wave->id, wijk, t.respondent, withdrawn);
    }
  }
  if (t.wijk.empty()) batch.PutRespondent(task, wave->id, "", t.respondent, withdrawn);
  return erased;
}

absl::Status RecordProcessor::ApplyTombstones(int32_t task, StateBatch& batch, InstanceState& instance,
                                              TaskChanges& dirty) {
  FieldworkState& state = instance.tasks[task];
  ChangedAggregates& changed = dirty[task];
  for (const Tombstone& t : instance.withdrawn) {
    if (absl::StatusOr<int> n = Withdraw(task, t, batch, state, changed); !n.ok()) return n.status();
  }
  return absl::OkStatus();
}

absl::StatusOr<RecordResult> RecordProcessor::ProcessWithdrawal(const SourceRecord& record,
                                                                StateBatch& batch,
                                                                InstanceState& state,
                                                                TaskChanges& dirty) {
  RecordResult result;
  result.kind = RecordKind::kWithdrawal;
  auto reject = [&](RejectReason reason, std::string detail) {
    result.withdrawal = WithdrawalOutcome::kRejected;
    result.outcome = Outcome::kRejected;
    result.reason = reason;
    result.detail = std::move(detail);
    return result;
  };
  if (RecordBytes(record) > options_.max_record_bytes) {
    return reject(RejectReason::kOversized, OversizedDetail(record, options_.max_record_bytes));
  }
  absl::StatusOr<RawWithdrawal> w = DecodeWithdrawal(record.value, record.content_type);
  if (!w.ok()) return reject(RejectReason::kDecodeError, std::string(w.status().message()));
  if (w->respondent_ref.empty() || w->wave.empty()) {
    return reject(RejectReason::kMissingField,
                  w->wave.empty() ? "missing: wave" : "missing: respondent_ref");
  }
  const Wave* wave = methodology_.FindWave(w->wave);
  if (wave == nullptr) return reject(RejectReason::kUnknownWave, Cat("wave ", Quoted(w->wave), " is not configured"));
  if (!w->wijk.empty()) {
    if (!districts_->FindWijk(w->wijk)) {
      return reject(RejectReason::kUnknownWijk, Cat("wijk ", Quoted(w->wijk), " is not in the district register"));
    }
    result.wijk = w->wijk;
  }
  // The instance keeps the tombstone (for the tasks that appear later) and
  // applies it to every task it holds.
  Tombstone t{wave->id, w->wijk, pseudonymiser_.Of(wave->id, w->respondent_ref)};
  batch.PutRespondent(kInstanceTask, t.wave, t.wijk, t.respondent,
                      RespondentRecord{RespondentState::kWithdrawn, "", {}, {}});
  for (auto& [task, task_state] : state.tasks) {
    absl::StatusOr<int> n = Withdraw(task, t, batch, task_state, dirty[task]);
    if (!n.ok()) return n.status();
    result.erased += *n;
  }
  state.withdrawn.push_back(std::move(t));
  result.withdrawal = result.erased > 0 ? WithdrawalOutcome::kErased : WithdrawalOutcome::kRecorded;
  return result;
}

}  // namespace wijkpuls
