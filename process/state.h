// The state a record's decision reads and writes, as the record path sees it:
// the open batch (reads through it see its own writes; written atomically with
// the offsets that produced it), the store it is committed to, and the
// lookups read ahead for a window of records. store/ implements these over
// RocksDB; process/ knows no RocksDB (tests/layering_test.py).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "model/methodology.h"
#include "model/response.h"
#include "score/fieldwork_state.h"
#include "score/global_stage.h"
#include "validate/rules.h"

namespace wijkpuls {

// (topic, partition) -> the next offset to read.
using OffsetMap = std::map<std::pair<std::string, int32_t>, int64_t>;

// What is remembered of one response_id.
struct ResponseRecord {
  Outcome outcome = Outcome::kAccepted;          // accepted, flagged or rejected
  std::optional<RejectReason> reason;            // when rejected
  bool erased = false;                           // withdrawn: content deleted
  bool passed_checks = false;                    // counted in the watermark
  std::optional<CountedResponse> response;       // counted and not erased
  Attribution attribution;                       // rejected: where it is counted (wave unset)
  std::optional<UnixNanos> submitted_at;
};

// What is remembered of a respondent in a wave and wijk. A counted response
// is stored in its respondent's claim: one key per counted response.
struct RespondentRecord {
  RespondentState state = RespondentState::kUnseen;
  std::string response_id;              // claimed: the counted response
  std::vector<std::string> duplicates;  // claimed: later responses, rejected DUPLICATE_RESPONDENT
  // Claimed: the counted response itself, in the store's encoding (opaque
  // here: StateBatch::GetClaimed decodes it; a claim written back keeps it).
  // Empty in a claim stored by schema 4, whose response is under its id.
  std::string counted;
};

// Stored state is kept per task: the input partition of the responses topic
// whose records made it (docs/design.md, "Several instances"). Task
// kInstanceTask is the instance's own: the withdrawals it has read.
inline constexpr int32_t kInstanceTask = -1;

// A withdrawal the instance has read: its respondent's responses count
// nowhere in the wave (in the wijk it names, or in any when it names none).
struct Tombstone {
  std::string wave;
  std::string wijk;  // empty: every wijk
  Digest256 respondent{};
};

// What the record path holds in memory: the aggregates of every task, and
// the tombstones of every withdrawal read (applied to each task as it
// appears, so that its responses end as if the withdrawals came first).
struct InstanceState {
  TaskStates tasks;
  std::vector<Tombstone> withdrawn;
};

struct StoreStats {
  uint64_t live_data_bytes = 0;
  uint64_t sst_bytes = 0;
  uint64_t pending_compaction_bytes = 0;
  uint64_t memtable_bytes = 0;
  // Lookups of blocks in the block cache since the store was opened, by kind
  // of block: found (hit) or read from the files (miss). Filter misses that
  // keep rising mean the bloom filters no longer stay in the cache (raise
  // state.block_cache_mb; README, configuration).
  enum Block { kFilter = 0, kIndex, kData, kBlockKinds };
  uint64_t block_cache_hits[kBlockKinds] = {};
  uint64_t block_cache_misses[kBlockKinds] = {};
};

// Lookups of the committed state made ahead of their use, on another thread:
// the keys a window of records will look up, read together. A batch takes a
// value read ahead only when no batch was written to the store since it was
// read; otherwise it reads the store again. Reads through the open batch and
// the one being written come first, as always: a read-ahead never hides a
// write. Made by StateStore::NewReadAhead, read by StateStore::Read.
class ReadAhead {
 public:
  virtual ~ReadAhead() = default;
  virtual void Clear() = 0;
  virtual void AddResponse(int32_t task, std::string_view wave, std::string_view wijk,
                           std::string_view response_id) = 0;
  virtual void AddRespondent(int32_t task, std::string_view wave, std::string_view wijk,
                             const Digest256& respondent) = 0;
  virtual size_t size() const = 0;
};

// A group of changes written atomically by StateStore::Commit. Reads through
// the batch see its own writes. Not thread-safe; owned by the pipeline.
// `ahead`, when given, is the read-ahead of the window being applied.
class StateBatch {
 public:
  virtual ~StateBatch() = default;

  // Every key is in a task's range (its first argument). What is stored
  // under a response_id: a record that was not counted (and, in a directory
  // of schema 4, a counted one).
  virtual absl::StatusOr<std::optional<ResponseRecord>> GetResponse(int32_t task, std::string_view wave,
                                                                    std::string_view wijk,
                                                                    std::string_view response_id,
                                                                    const Methodology& m,
                                                                    const ReadAhead* ahead = nullptr) = 0;
  virtual absl::StatusOr<RespondentRecord> GetRespondent(int32_t task, std::string_view wave, std::string_view wijk,
                                                         const Digest256& respondent,
                                                         const ReadAhead* ahead = nullptr) = 0;

  // The counted response of `claim`, a claimed RespondentRecord read by
  // GetRespondent in `wave` and `wijk`: held by the claim, or (stored by
  // schema 4) under its response_id. Nullopt when it is in neither.
  virtual absl::StatusOr<std::optional<ResponseRecord>> GetClaimed(int32_t task, std::string_view wave,
                                                                   std::string_view wijk,
                                                                   const RespondentRecord& claim,
                                                                   const Methodology& m) = 0;

  // A counted response, stored as its respondent's claim (r.respondent) in
  // the wave and wijk, holding the response: one key. wijk is the register
  // id of the response's wijk. GetResponse does not find it; a redelivery is
  // found through the claim.
  virtual void PutCounted(int32_t task, const CountedResponse& r, std::string_view wijk, Outcome outcome) = 0;
  // A rejected record, under the wave/wijk it was sent with.
  virtual void PutRejected(int32_t task, std::string_view wave, std::string_view wijk, std::string_view response_id,
                           RejectReason reason, const Attribution& a, bool passed_checks) = 0;
  virtual void PutRespondent(int32_t task, std::string_view wave, std::string_view wijk, const Digest256& respondent,
                             const RespondentRecord& record) = 0;
  // The aggregates of `key` in `task` after this batch: quota and statistics
  // whole, the quality tally as `quality_change`, what the batch changed in
  // it (merged into the stored tally; nothing when it is empty).
  virtual void PutAggregates(int32_t task, const StateKey& key, const WijkState& state, int indicator_count,
                             const QualityTally& quality_change) = 0;
  virtual void PutOffset(const std::string& topic, int32_t partition, int64_t next_offset) = 0;
  virtual void PutMeta(std::string_view key, std::string_view value) = 0;
  // Deletes a task's whole key range (responses, respondents, aggregates) and
  // its stored offset on `topic`, in this batch: a task no longer held here,
  // read again from the log's start if it ever comes back. The batch must
  // hold no other write of that task.
  virtual void DropTask(int32_t task, const std::string& topic) = 0;

  // The batch this one reads through (StateStore::NewBatch) is written:
  // read the store instead; it may be destroyed.
  virtual void PreviousWritten() = 0;

  // Number of operations so far.
  virtual int Count() const = 0;
  virtual size_t ByteSize() const = 0;
};

// The state directory. Thread-safety as said per method; Commit may run on
// another thread than the one reading a newer batch.
class StateStore {
 public:
  virtual ~StateStore() = default;

  virtual const std::string& dir() const = 0;
  virtual absl::StatusOr<OffsetMap> LoadOffsets() const = 0;
  // Loads every stored aggregate into `tasks` (replacing it), by task.
  virtual absl::Status LoadAggregates(const Methodology& m, TaskStates& tasks) const = 0;
  // Loads the stored aggregates of one task into `state` (replacing it).
  virtual absl::Status LoadTask(const Methodology& m, int32_t task, FieldworkState& state) const = 0;
  // Loads the instance's tombstones (task kInstanceTask), in key order.
  virtual absl::Status LoadWithdrawn(std::vector<Tombstone>& out) const = 0;
  virtual absl::StatusOr<std::optional<std::string>> GetMeta(std::string_view key) const = 0;

  // `previous`, when given, is a batch being committed on another thread: the
  // new batch reads through it until it is written. It must stay alive (and
  // unchanged) as long as the new batch is read; Commit may run concurrently
  // with reads of the new batch.
  virtual std::unique_ptr<StateBatch> NewBatch(const StateBatch* previous = nullptr) = 0;
  virtual absl::Status Commit(StateBatch& batch) = 0;

  virtual std::unique_ptr<ReadAhead> NewReadAhead() const = 0;
  // Reads the keys added to `ahead` (thread-safe: runs beside reads, writes
  // and commits). A key whose read fails is left out: its lookup reads the
  // store itself, and reports the error.
  virtual void Read(ReadAhead& ahead) const = 0;
  struct ReadAheadCounts {
    uint64_t used = 0;    // lookups of the store answered by the read-ahead
    uint64_t stale = 0;   // read ahead, but a batch was written since: read again
    uint64_t direct = 0;  // not read ahead: read from the store
  };
  virtual ReadAheadCounts read_ahead_counts() const = 0;

  // Visits every stored response record (for rebuild and tests): those under
  // their response_id in key order, then the counted ones held by claims, in
  // key order of the claims.
  using ResponseVisitor = std::function<absl::Status(int32_t task, std::string_view wave, std::string_view wijk,
                                                     std::string_view response_id, const ResponseRecord&)>;
  virtual absl::Status ForEachResponse(const Methodology& m, const ResponseVisitor& visit) const = 0;
  // Visits every respondent record.
  virtual absl::Status ForEachRespondent(
      const std::function<void(int32_t task, std::string_view wave, std::string_view wijk,
                               const RespondentRecord&)>& visit) const = 0;

  // Replaces all aggregates by `tasks`, atomically with a meta update.
  virtual absl::Status ReplaceAggregates(const TaskStates& tasks, int indicator_count,
                                         std::string_view methodology_hash) = 0;

  virtual StoreStats Stats() const = 0;
  // Tries to clear a background error (e.g. after disk space was freed).
  virtual absl::Status Resume() = 0;
  // False after a failed write: a store whose write failed accepts no more
  // writes and is not closed (the process must exit; a restart recovers
  // every committed batch).
  virtual bool IsOpen() const = 0;
  // Free space on the state directory's filesystem; -1 when unknown.
  virtual int64_t FreeBytes() const = 0;
  virtual int64_t min_free_bytes() const = 0;
};

}  // namespace wijkpuls
