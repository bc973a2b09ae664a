// The decision for one input record and its effect on state: decode,
// deduplicate, check, pseudonymise, decide the outcome, and apply it to the
// current StateBatch and the in-memory aggregates. Knows no Kafka: records
// come as SourceRecord from any source (Kafka, a replay file, a test).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "score/fieldwork_state.h"
#include "process/state.h"
#include "model/district_register.h"
#include "model/methodology.h"
#include "validate/pseudonymiser.h"
#include "validate/rules.h"

namespace wijkpuls {

// One input record. The views point into the source's buffer and live until
// the next poll.
struct SourceRecord {
  std::string_view topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string_view key;
  std::string_view value;
  std::string_view content_type;
  int64_t header_bytes = 0;  // names and values of all its headers (content-type included)
};

// What pipeline.max_record_bytes limits: the record's key, value and headers.
inline int64_t RecordBytes(const SourceRecord& r) {
  return static_cast<int64_t>(r.key.size() + r.value.size()) + r.header_bytes;
}

enum class RecordKind : uint8_t { kResponse, kWithdrawal };

enum class WithdrawalOutcome : uint8_t {
  kErased = 0,    // a counted response was removed and erased
  kRecorded = 1,  // nothing counted yet: later responses will be WITHDRAWN
  kRejected = 2,  // the withdrawal itself is invalid (dead-lettered)
};
std::string_view Name(WithdrawalOutcome o);

struct RecordResult {
  RecordKind kind = RecordKind::kResponse;
  Outcome outcome = Outcome::kAccepted;  // responses
  WithdrawalOutcome withdrawal = WithdrawalOutcome::kRecorded;  // withdrawals
  std::optional<RejectReason> reason;    // set when dead-lettered
  std::string detail;                    // for the dead letter and logs; no personal data
  FlagSet flags;
  std::string response_id;               // when it could be decoded and is well-formed
  std::string wijk;                      // register id, when known
  int erased = 0;                        // withdrawals: responses erased
  int unknown_fields = 0;                // responses: fields the schema does not know (not for duplicates)
  bool DeadLetter() const { return reason.has_value(); }
};

struct ProcessorOptions {
  std::string responses_topic = "wijkprofiel.responses.v1";
  std::string withdrawals_topic = "wijkprofiel.withdrawals.v1";
  std::string rejected_topic = "wijkprofiel.responses.rejected.v1";
  int64_t max_record_bytes = 64 * 1024;
};

using Clock = std::function<UnixNanos()>;
UnixNanos SystemClock();

// The part of a response's decision that needs no state: the size check,
// decoding, the field checks and the pseudonym. It may be computed on another
// thread than the one that applies it (RecordProcessor::Prepare is const and
// touches nothing shared but read-only configuration).
struct PreparedRecord {
  bool done = false;                           // false: not prepared (withdrawals never are)
  int32_t task = 0;                            // TaskOf the record
  const DistrictRegister* districts = nullptr; // the register it was checked against
  bool oversized = false;
  absl::Status decode_error;                   // ok: decoded into `raw`
  RawResponse raw;
  FieldCheck check;
  Digest256 respondent{};                      // when lookups.claim: of the wave sent
  // The stored keys the decision reads, declared here once: read ahead for a
  // window (RecordProcessor::AddLookups) and read by Apply, in the same cases.
  struct Lookups {
    bool response = false;    // the response_id, in the wave and wijk sent
    // The respondent's claim in the wave and wijk sent (a counted response
    // is stored there: a redelivery of one is found there), whenever the
    // record names a response_id, wave, wijk and respondent_ref.
    bool claim = false;
    bool respondent = false;  // the field checks passed: the pseudonym wave-wide too
  } lookups;
};

class RecordProcessor {
 public:
  // The referenced configuration must outlive the processor; SetDistricts
  // swaps the register between batches.
  RecordProcessor(const Methodology& methodology, const DistrictRegister& districts,
                  const Pseudonymiser& pseudonymiser, Clock clock, ProcessorOptions options);

  void SetDistricts(const DistrictRegister& districts) { districts_ = &districts; }
  const ProcessorOptions& options() const { return options_; }

  // Decides the record's outcome and applies it to `batch` and `state`,
  // adding every aggregate it touched to `dirty` (by task), with the change
  // it made to the aggregate's quality tally. A response is its partition's
  // task's (TaskOf); a withdrawal is applied to every task in `state` and
  // kept as a tombstone for those that appear later. An error status means
  // the state could not be read: the batch must be abandoned.
  absl::StatusOr<RecordResult> Process(const SourceRecord& record, StateBatch& batch,
                                       InstanceState& state, TaskChanges& dirty);

  // Process in two steps: Prepare (pure: thread-safe, no state) and Apply.
  // `now` is the processing clock for the field checks. Apply re-prepares a
  // record prepared against another register than the current one, so the
  // outcome is the same as Process's.
  void Prepare(const SourceRecord& record, const DistrictRegister& districts, UnixNanos now,
               PreparedRecord& out) const;
  // Adds the stored keys a prepared record's decision reads
  // (prepared.lookups) to `out`, to be read ahead.
  void AddLookups(const PreparedRecord& prepared, ReadAhead& out) const;
  // `ahead`: the read-ahead of the window the record is in (or null).
  absl::StatusOr<RecordResult> Apply(const SourceRecord& record, PreparedRecord& prepared,
                                     StateBatch& batch, const ReadAhead* ahead, InstanceState& state,
                                     TaskChanges& dirty);
  UnixNanos Now() const { return clock_(); }

  // Applies every tombstone of `instance` to `task` (a task taken over with
  // state from an earlier ownership, which may predate some withdrawals).
  // Applying one twice changes nothing.
  absl::Status ApplyTombstones(int32_t task, StateBatch& batch, InstanceState& instance, TaskChanges& dirty);

 private:
  absl::StatusOr<RecordResult> ProcessResponse(const SourceRecord& record, PreparedRecord& prepared,
                                               StateBatch& batch, const ReadAhead* ahead,
                                               InstanceState& state, TaskChanges& dirty);
  absl::StatusOr<RecordResult> ProcessWithdrawal(const SourceRecord& record, StateBatch& batch,
                                                 InstanceState& state, TaskChanges& dirty);
  // Applies a tombstone to a task: what the respondent had counted there is
  // removed (Unclaim), and the tombstone is kept in the task's range. The
  // number of counted responses removed.
  absl::StatusOr<int> Withdraw(int32_t task, const Tombstone& t, StateBatch& batch, FieldworkState& state,
                               ChangedAggregates& dirty);
  absl::Status Unclaim(int32_t task, const Wave& wave, const std::string& wijk, const RespondentRecord& claim,
                       StateBatch& batch, FieldworkState& state, ChangedAggregates& dirty);
  // Records a rejected response and counts it where it can be attributed.
  void Reject(RecordResult& result, RejectReason reason, std::string detail,
              const SourceRecord& record, int32_t task, std::string_view wave, std::string_view wijk,
              const Attribution& attribution, bool passed_checks, StateBatch& batch,
              FieldworkState& state, ChangedAggregates& dirty);

  const Methodology& methodology_;
  const DistrictRegister* districts_;
  const Pseudonymiser& pseudonymiser_;
  Clock clock_;
  ProcessorOptions options_;
};

// The aggregate a record is counted under: its wave and wijk when they are
// known, else empty strings.
StateKey AttributionKey(const Attribution& a, const DistrictRegister& districts);

// The task a response belongs to: its partition of the responses topic.
inline int32_t TaskOf(const SourceRecord& record) { return record.partition; }

// The stored key of a record without a usable response_id: "@topic/partition/offset"
// ('@' cannot occur in a valid response_id).
std::string SourceRecordId(const SourceRecord& record);

}  // namespace wijkpuls
