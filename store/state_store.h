// The RocksDB state directory: every response_id seen, the counted responses
// (normalised, pseudonymised), respondent claims and withdrawals, the
// aggregates of every (wave, wijk), and the next input offset of every
// partition. One StateBatch is written atomically (one WriteBatch with the
// WAL): state and the offsets that produced it are never apart.
// RocksDB types stay inside store/.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "score/fieldwork_state.h"
#include "model/methodology.h"
#include "model/response.h"
#include "validate/rules.h"

namespace wijkpuls {

struct StoreOptions {
  std::string dir;
  bool create_if_missing = true;
  bool read_only = false;           // for `quotas`/`scores` beside a running daemon
  int64_t block_cache_bytes = 64 << 20;
  int64_t write_buffer_bytes = 32 << 20;
  bool sync_writes = true;          // fsync the WAL on every batch
  // Below this much free space no batch is written (consumption pauses until
  // there is room again), so that RocksDB never runs out of disk mid-write,
  // and the store is not opened for writing (its recovery writes too).
  int64_t min_free_bytes = 256LL << 20;
};

// The block cache is split into 2^bits shards (each with its own lock and
// LRU list) of at least kMinBlockCacheShardBytes, at most 64. Each shard keeps
// half for index and filter blocks, and a file's bloom filter is one block of
// up to about 1.25 MB (1.25 bytes per key of a 64 MB file): in RocksDB's
// default shards of 1 MB (64 for the default 64 MB cache) a filter did not
// fit, was evicted by the next blocks of its shard and read again. In 1M-record
// replays whose files had reached level 1 (level 0's filters are pinned):
// 14,915 and 28,067 filter blocks read again, and a median of 18% and 22% more
// CPU than a build without the misses (two same-run A/Bs of 4 rounds), against
// 26 with 4 shards of 16 MB (bench/README.md, 2026-12-02, fourth session).
inline constexpr int64_t kMinBlockCacheShardBytes = 16 << 20;
int BlockCacheShardBits(int64_t cache_bytes);

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

struct RespondentRecord {
  RespondentState state = RespondentState::kUnseen;
  std::string response_id;              // claimed: the counted response
  std::vector<std::string> duplicates;  // claimed: later responses, rejected DUPLICATE_RESPONDENT
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

class StateStore;

// Lookups of the committed state made ahead of their use, on another thread:
// the keys a window of records will look up, read together (one RocksDB
// MultiGet per column family, whose filter and block probes overlap, instead
// of one Get per key). A batch reads a prefetched value only when no batch was
// written to the store since it was read; otherwise it reads the store again.
// Reads through the open batch and the one being written come first, as
// always: a prefetch never hides a write.
class Prefetch {
 public:
  Prefetch();
  ~Prefetch();
  Prefetch(const Prefetch&) = delete;
  Prefetch& operator=(const Prefetch&) = delete;

  void Clear();
  void AddResponse(std::string_view wave, std::string_view wijk, std::string_view response_id);
  void AddRespondent(std::string_view wave, std::string_view wijk, const Digest256& respondent);
  size_t size() const;

 private:
  friend class StateStore;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A group of changes written atomically by StateStore::Commit. Reads through
// the batch see its own writes. Not thread-safe; owned by the pipeline.
class StateBatch {
 public:
  ~StateBatch();
  StateBatch(const StateBatch&) = delete;
  StateBatch& operator=(const StateBatch&) = delete;

  absl::StatusOr<std::optional<ResponseRecord>> GetResponse(std::string_view wave,
                                                            std::string_view wijk,
                                                            std::string_view response_id,
                                                            const Methodology& m);
  absl::StatusOr<RespondentRecord> GetRespondent(std::string_view wave, std::string_view wijk,
                                                 const Digest256& respondent);

  // wijk is the register id of the response's wijk.
  void PutCounted(const CountedResponse& r, std::string_view wijk, Outcome outcome);
  // A rejected record, under the wave/wijk it was sent with.
  void PutRejected(std::string_view wave, std::string_view wijk, std::string_view response_id,
                   RejectReason reason, const Attribution& a, bool passed_checks);
  // Replaces a counted response by its erased marker (keeps dedup and watermark).
  void PutErased(std::string_view wave, std::string_view wijk, std::string_view response_id,
                 std::optional<UnixNanos> submitted_at);
  void PutRespondent(std::string_view wave, std::string_view wijk, const Digest256& respondent,
                     const RespondentRecord& record);
  // The aggregates of `key` after this batch: quota and statistics whole,
  // the quality tally as `quality_change`, what the batch changed in it
  // (merged into the stored tally by RocksDB; nothing when it is empty).
  void PutAggregates(const StateKey& key, const WijkState& state, int indicator_count,
                     const QualityTally& quality_change);
  void PutOffset(const std::string& topic, int32_t partition, int64_t next_offset);
  void PutMeta(std::string_view key, std::string_view value);

  // The batch this one reads through (StateStore::NewBatch) is written:
  // read the store instead; it may be destroyed.
  void PreviousWritten();

  // Number of operations so far.
  int Count() const;
  size_t ByteSize() const;

 private:
  friend class StateStore;
  struct Impl;
  explicit StateBatch(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

class StateStore {
 public:
  // Opens (or creates) the state directory: checks the schema version, takes
  // the directory's lock. Errors name the directory and what is wrong; less
  // free space than min_free_bytes is ResourceExhausted (not read_only).
  static absl::StatusOr<std::unique_ptr<StateStore>> Open(const StoreOptions& options);
  ~StateStore();
  StateStore(const StateStore&) = delete;
  StateStore& operator=(const StateStore&) = delete;

  const std::string& dir() const;

  absl::StatusOr<OffsetMap> LoadOffsets() const;
  // Loads every stored aggregate into `state` (replacing it).
  absl::Status LoadAggregates(const Methodology& m, FieldworkState& state) const;
  absl::StatusOr<std::optional<std::string>> GetMeta(std::string_view key) const;

  // `previous`, when given, is a batch being committed on another thread: the
  // new batch reads through it until it is written. It must stay alive (and
  // unchanged) as long as the new batch is read; Commit may run concurrently
  // with reads of the new batch.
  std::unique_ptr<StateBatch> NewBatch(const StateBatch* previous = nullptr);
  absl::Status Commit(StateBatch& batch);

  // Reads the keys added to `prefetch` (thread-safe: runs beside reads,
  // writes and commits). A key whose read fails is left out: its lookup
  // reads the store itself, and reports the error.
  void Read(Prefetch& prefetch) const;
  // Batches read prefetched values from `prefetch` (null: none) until the
  // next call; the pipeline's thread sets it around a window of records.
  void UsePrefetch(const Prefetch* prefetch);
  struct PrefetchCounts {
    uint64_t used = 0;    // lookups of the store answered by the read-ahead
    uint64_t stale = 0;   // read ahead, but a batch was written since: read again
    uint64_t direct = 0;  // not read ahead: read from the store
  };
  PrefetchCounts prefetch_counts() const;

  // Visits every stored response record in key order (for rebuild and tests).
  using ResponseVisitor = std::function<absl::Status(std::string_view wave, std::string_view wijk,
                                                     std::string_view response_id,
                                                     const ResponseRecord&)>;
  absl::Status ForEachResponse(const Methodology& m, const ResponseVisitor& visit) const;
  // Visits every respondent record.
  absl::Status ForEachRespondent(
      const std::function<void(std::string_view wave, std::string_view wijk,
                               const RespondentRecord&)>& visit) const;

  // Replaces all aggregates by `state`, atomically with a meta update.
  absl::Status ReplaceAggregates(const FieldworkState& state, int indicator_count,
                                 std::string_view methodology_hash);

  StoreStats Stats() const;
  // Tries to clear a background error (e.g. after disk space was freed).
  absl::Status Resume();
  // False after a failed write: a store whose write failed accepts no more
  // writes and is not closed (the process must exit; a restart recovers
  // every committed batch).
  bool IsOpen() const;
  // Free space on the state directory's filesystem; -1 when unknown.
  int64_t FreeBytes() const;
  int64_t min_free_bytes() const;

  struct Impl;  // defined in state_store.cc

 private:
  explicit StateStore(std::unique_ptr<Impl> impl);
  static absl::StatusOr<std::unique_ptr<Impl>> OpenImpl(const StoreOptions& options);
  std::unique_ptr<Impl> impl_;
};

}  // namespace wijkpuls
