#include "store/state_store.h"

#include <atomic>

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/merge_operator.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/statistics.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <rocksdb/write_buffer_manager.h>

#include <charconv>
#include <sys/statvfs.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "model/log.h"
#include "model/text.h"
#include "store/codec.h"
#include "store/schema.h"

namespace wijkpuls {

using namespace store;  // NOLINT: key and codec helpers of this module

namespace {

enum Cf { kMeta = 0, kOffsets, kResponses, kRespondents, kQuota, kStats, kQuality, kCfCount };
constexpr std::string_view kCfNames[kCfCount] = {kCfMeta,        kCfOffsets, kCfResponses,
                                                 kCfRespondents, kCfQuota,   kCfStats,
                                                 kCfQuality};

absl::Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return absl::OkStatus();
  std::string msg = Cat(what, ": ", s.ToString());
  if (s.IsCorruption()) return absl::DataLossError(msg);
  if (s.IsNoSpace() || s.IsIOError()) return absl::UnavailableError(msg);
  return absl::InternalError(msg);
}

std::string_view View(const rocksdb::Slice& s) { return std::string_view(s.data(), s.size()); }

// Free space (for unprivileged users) on the filesystem of `path`, or of its
// nearest existing parent when it does not exist yet; -1 when unknown.
int64_t FreeBytesAt(const std::string& path) {
  std::error_code ec;
  std::filesystem::path p = std::filesystem::absolute(path, ec);
  if (ec) return -1;
  struct statvfs fs {};
  while (statvfs(p.c_str(), &fs) != 0) {
    if (errno != ENOENT || !p.has_relative_path()) return -1;
    p = p.parent_path();
  }
  return static_cast<int64_t>(fs.f_bavail) * static_cast<int64_t>(fs.f_frsize);
}

// ResourceExhausted when the state directory's filesystem has less than
// `min_free_bytes` free (state.min_free_mb).
absl::Status CheckFreeSpace(const std::string& dir, int64_t min_free_bytes) {
  const int64_t free_bytes = FreeBytesAt(dir);
  if (free_bytes < 0 || free_bytes >= min_free_bytes) return absl::OkStatus();
  return absl::ResourceExhaustedError(
      Cat("state directory ", dir, ": only ", free_bytes >> 20, " MB free on its filesystem (",
          free_bytes, " bytes); opening it for writing needs at least ", min_free_bytes >> 20,
          " MB (state.min_free_mb): free some space or give it a larger disk"));
}

// A respondent's pseudonym as the id part of its key.
std::string_view IdOf(const Digest256& respondent) {
  return std::string_view(reinterpret_cast<const char*>(respondent.data()), respondent.size());
}

// The task | wave | wijk part of a KeyOf key. A batch is written sorted by key, so
// the keys of one wijk are inserted in order: with this as the memtable's
// insert hint, each insert searches the skip list from where the last one of
// its wijk went in, not from the top.
class WaveWijkPrefix : public rocksdb::SliceTransform {
 public:
  const char* Name() const override { return "wijkpuls.WaveWijkPrefix"; }
  rocksdb::Slice Transform(const rocksdb::Slice& key) const override {
    return rocksdb::Slice(key.data(), PrefixLength(key));
  }
  bool InDomain(const rocksdb::Slice& key) const override { return PrefixLength(key) > 0; }

 private:
  // The length of the key without its id; 0 when it is not a KeyOf key.
  static size_t PrefixLength(const rocksdb::Slice& key) {
    int32_t task = 0;
    std::string_view wave, wijk, id;
    return SplitKey(View(key), &task, &wave, &wijk, &id) ? key.size() - id.size() : 0;
  }
};

// Column family `quality` holds each (wave, wijk)'s quality tally as a
// QualityState, written as the changes of each batch (QualityState messages
// whose counts may be negative) that RocksDB adds up when it reads, flushes or
// compacts. Adding is exact, associative and commutative, and erases what
// falls to zero, so the value read is the tally rebuilt from the responses.
class QualityMerge : public rocksdb::MergeOperator {
 public:
  const char* Name() const override { return "wijkpuls.QualityMerge"; }

  bool FullMergeV2(const MergeOperationInput& in, MergeOperationOutput* out) const override {
    return Sum(in.existing_value, in.operand_list, &out->new_value, in.logger);
  }

  bool PartialMergeMulti(const rocksdb::Slice&, const std::deque<rocksdb::Slice>& operands,
                         std::string* new_value, rocksdb::Logger* logger) const override {
    return Sum(nullptr, operands, new_value, logger);
  }

 private:
  // The whole value (if any) plus every operand, encoded into `out`. False,
  // logged, when one is corrupt: RocksDB then fails the read, flush or
  // compaction as corruption.
  template <typename Operands>
  static bool Sum(const rocksdb::Slice* existing, const Operands& operands, std::string* out,
                  rocksdb::Logger* logger) {
    QualityTally t;
    bool ok = existing == nullptr || AddTo(*existing, t);
    for (auto op = operands.begin(); ok && op != operands.end(); ++op) ok = AddTo(*op, t);
    if (!ok) {
      if (logger != nullptr) {
        rocksdb::Log(rocksdb::InfoLogLevel::ERROR_LEVEL, logger,
                     "wijkpuls: a stored quality tally or change is corrupt");
      }
      return false;
    }
    *out = EncodeQuality(t).SerializeAsString();
    return true;
  }
  static bool AddTo(const rocksdb::Slice& value, QualityTally& t) {
    QualityState q;
    QualityTally change;
    if (!q.ParseFromArray(value.data(), static_cast<int>(value.size())) || !DecodeQuality(q, change)) {
      return false;
    }
    t.Add(change);
    return true;
  }
};

}  // namespace

int BlockCacheShardBits(int64_t cache_bytes) {
  int bits = 0;
  while (bits < 6 && (cache_bytes >> (bits + 1)) >= kMinBlockCacheShardBytes) ++bits;
  return bits;
}

struct RocksReadAhead;

struct StoreImpl {
  std::string dir;
  bool existed = false;   // the directory held state before this open
  std::atomic<bool> poisoned{false};  // a write failed: no more writes, no close
  StoreOptions options;
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> cfs;
  rocksdb::WriteOptions write_options;
  std::shared_ptr<rocksdb::Statistics> statistics;  // counters only (StoreStats)
  rocksdb::ReadOptions read_options;
  // Batches written so far: a prefetch read before the last write may miss it.
  std::atomic<uint64_t> writes{0};
  // How read-aheads served the batches' lookups (by every pipeline).
  std::atomic<uint64_t> used{0}, stale{0}, direct{0};

  // Every write goes through here, so that no read-ahead outlives one.
  rocksdb::Status Write(rocksdb::WriteBatch& wb) {
    rocksdb::Status s = db->Write(write_options, &wb);
    writes.fetch_add(1, std::memory_order_release);
    return s;
  }
  // The read-ahead value of `key`, if there is one and nothing was written
  // since it was read; null otherwise (the caller reads the store). Counted.
  // `hash`: the key's hash by the maps' hasher (KeyHash).
  const std::optional<std::string>* Prefetched(const RocksReadAhead* ahead, Cf cf, std::string_view key,
                                               size_t hash);

  ~StoreImpl() {
    if (poisoned) {
      // RocksDB must not touch a log whose write failed (Debian's build
      // asserts on it, even when closing): leave it to the process exit. What
      // was committed before is intact and recovered at the next open.
      (void)db.release();
      return;
    }
    for (rocksdb::ColumnFamilyHandle* h : cfs) {
      if (h != nullptr && db) db->DestroyColumnFamilyHandle(h);
    }
    if (db) db->Close();
  }
  rocksdb::ColumnFamilyHandle* cf(Cf c) const { return cfs[c]; }
};

// The keys of a window's lookups, and after StateStore::Read their values.
struct RocksReadAhead : public ReadAhead {
  void Clear() override;
  void AddResponse(int32_t task, std::string_view wave, std::string_view wijk,
                   std::string_view response_id) override;
  void AddRespondent(int32_t task, std::string_view wave, std::string_view wijk,
                     const Digest256& respondent) override;
  size_t size() const override { return keys[0].n + keys[1].n; }

  // The column families a record's lookups read.
  static constexpr Cf kCfs[2] = {kResponses, kRespondents};
  static int Slot(Cf cf) { return cf == kResponses ? 0 : cf == kRespondents ? 1 : -1; }

  struct Keys {
    std::vector<std::string> keys;  // reused across windows: the first n are in use
    size_t n = 0;
    std::string& Next() {
      if (n == keys.size()) keys.emplace_back();
      return keys[n++];
    }
  };
  Keys keys[2];
  // After a read: every added key, with its stored value (nullopt: none).
  // Empty until then, so nothing is found in a prefetch not yet read.
  absl::flat_hash_map<std::string_view, std::optional<std::string>> values[2];
  uint64_t writes_before = 0;  // the store's write count before the read
  // MultiGet's arguments, reused from window to window.
  std::vector<rocksdb::Slice> slices;
  std::vector<rocksdb::PinnableSlice> found;
  std::vector<rocksdb::Status> statuses;
};

const std::optional<std::string>* StoreImpl::Prefetched(const RocksReadAhead* ahead, Cf cf,
                                                        std::string_view key, size_t hash) {
  const int slot = RocksReadAhead::Slot(cf);
  if (ahead != nullptr && slot >= 0) {
    if (auto it = ahead->values[slot].find(key, hash); it != ahead->values[slot].end()) {
      // A batch written since may be one the caller no longer reads through.
      if (writes.load(std::memory_order_acquire) == ahead->writes_before) {
        used.fetch_add(1, std::memory_order_relaxed);
        return &it->second;
      }
      stale.fetch_add(1, std::memory_order_relaxed);
      return nullptr;
    }
  }
  direct.fetch_add(1, std::memory_order_relaxed);
  return nullptr;
}

void RocksReadAhead::Clear() {
  for (int i = 0; i < 2; ++i) {
    keys[i].n = 0;
    values[i].clear();
  }
}

void RocksReadAhead::AddResponse(int32_t task, std::string_view wave, std::string_view wijk,
                                 std::string_view response_id) {
  KeyOf(task, wave, wijk, response_id, &keys[0].Next());
}

void RocksReadAhead::AddRespondent(int32_t task, std::string_view wave, std::string_view wijk,
                                   const Digest256& respondent) {
  KeyOf(task, wave, wijk, IdOf(respondent), &keys[1].Next());
}

// The hash of a key by the hasher of the maps keyed by views (the batch's
// and the read-ahead's): computed once per lookup and passed to each.
inline size_t KeyHash(std::string_view key) {
  return absl::flat_hash_map<std::string_view, std::string_view>::hasher{}(key);
}

// Which keys a batch wrote, as one bit per key hash and column family: most
// lookups are of keys the batch never wrote, and a clear bit answers them
// without probing its map (a batch writes about one key per record, and each
// probe of its map is a cache miss or two). 2^18 bits (32 KB): for a batch of
// 5,000 records, 1 - e^(-5000/2^18), about 2%, of the lookups of an absent
// key still probe the map (computed, not measured).
class KeyFilter {
 public:
  void Add(size_t hash, Cf cf) {
    const size_t b = Bit(hash, cf);
    words_[b >> 6] |= uint64_t{1} << (b & 63);
  }
  bool MayHave(size_t hash, Cf cf) const {
    const size_t b = Bit(hash, cf);
    return (words_[b >> 6] >> (b & 63)) & 1;
  }

 private:
  static constexpr int kLogBits = 18;
  static size_t Bit(size_t hash, Cf cf) {
    return static_cast<size_t>(((hash + static_cast<size_t>(cf)) * 0x9E3779B97F4A7C15ull) >> (64 - kLogBits));
  }
  std::vector<uint64_t> words_ = std::vector<uint64_t>(size_t{1} << (kLogBits - 6));
};

// A batch is its final value per key, per column family: reads through the
// batch see its own writes (a record's dedup lookups must see the records
// before it in the same batch), and a key written twice is written once.
// Keys and values are copied into a bump arena; the hash maps hold views, in
// place (absl's open addressing: with std::unordered_map, a node to allocate
// and free per entry, its hash-table code was 8.8% of the pipeline thread of a
// 1M-record replay by perf on 2026-12-01).
//
// At commit the entries are written sorted by key. Profiled (bench/README.md):
// RocksDB's WriteBatchWithIndex cost a third of a replay in its skip list; and
// inserting a batch's keys into the memtable in random order cost another
// third, because every insert searched the memtable's skip list from the top;
// in key order each insert starts from where the previous one ended.
struct BatchImpl {
  StoreImpl* store = nullptr;
  // A batch handed to StateStore::Commit on another thread and not yet
  // written: read through, unchanged (it is only read while being written).
  const BatchImpl* previous = nullptr;
  absl::flat_hash_map<std::string_view, std::string_view> written[kCfCount];
  KeyFilter written_keys;  // the keys of `written`
  // Merge operands (column family `quality`), in the order they were added.
  // They are not read through the batch: only whole values are.
  std::vector<std::pair<std::string_view, std::string_view>> merged[kCfCount];
  std::vector<std::unique_ptr<char[]>> chunks;
  size_t chunk_left = 0;
  char* chunk_at = nullptr;
  int ops = 0;
  size_t bytes = 0;
  // Tasks whose key ranges go, and the offsets that go with them (DropTask).
  std::vector<int32_t> dropped;
  std::vector<std::string> deleted_offsets;
  std::string scratch;
  // Reused for every key and every counted response of the batch: their
  // buffers stay allocated (a key is longer than std::string's inline 15).
  std::string key_scratch;
  StoredResponse counted;
  RespondentEntry claim;

  const std::string& Key(int32_t task, std::string_view wave, std::string_view wijk, std::string_view id) {
    KeyOf(task, wave, wijk, id, &key_scratch);
    return key_scratch;
  }

  std::string_view Copy(std::string_view s) {
    constexpr size_t kChunk = 256 << 10;
    if (s.size() > chunk_left) {
      const size_t size = std::max(kChunk, s.size());
      chunks.push_back(std::make_unique<char[]>(size));
      chunk_at = chunks.back().get();
      chunk_left = size;
    }
    char* out = chunk_at;
    std::memcpy(out, s.data(), s.size());
    chunk_at += s.size();
    chunk_left -= s.size();
    return std::string_view(out, s.size());
  }

  absl::StatusOr<std::optional<std::string>> Get(Cf cf, const std::string& key, const ReadAhead* ahead) {
    const size_t hash = KeyHash(key);
    if (written_keys.MayHave(hash, cf)) {
      if (auto it = written[cf].find(key, hash); it != written[cf].end()) {
        return std::optional<std::string>(std::string(it->second));
      }
    }
    if (previous != nullptr && previous->written_keys.MayHave(hash, cf)) {
      if (auto it = previous->written[cf].find(key, hash); it != previous->written[cf].end()) {
        return std::optional<std::string>(std::string(it->second));
      }
    }
    if (const std::optional<std::string>* v =
            store->Prefetched(static_cast<const RocksReadAhead*>(ahead), cf, key, hash)) {
      return *v;
    }
    std::string value;
    rocksdb::Status s = store->db->Get(store->read_options, store->cf(cf), key, &value);
    if (s.IsNotFound()) return std::optional<std::string>();
    if (!s.ok()) return FromRocks(s, "read");
    return std::optional<std::string>(std::move(value));
  }
  // `msg` encoded into the scratch buffer (valid until the next call).
  std::string_view Encode(const google::protobuf::MessageLite& msg) {
    scratch.clear();
    msg.AppendToString(&scratch);
    return scratch;
  }
  void Put(Cf cf, std::string_view key, const google::protobuf::MessageLite& msg) {
    PutRaw(cf, key, Encode(msg));
  }
  void PutRaw(Cf cf, std::string_view key, std::string_view value) {
    ++ops;
    bytes += key.size() + value.size();
    // One hash lookup: the key is copied first, and wasted when it was
    // written before in this batch (rare).
    const std::string_view v = Copy(value);
    written_keys.Add(KeyHash(key), cf);
    auto [it, inserted] = written[cf].try_emplace(Copy(key), v);
    if (!inserted) it->second = v;
  }
  void Merge(Cf cf, std::string_view key, const google::protobuf::MessageLite& msg) {
    const std::string_view value = Encode(msg);
    ++ops;
    bytes += key.size() + value.size();
    const std::string_view v = Copy(value);
    merged[cf].emplace_back(Copy(key), v);
  }
  rocksdb::WriteBatch Build() const {
    rocksdb::WriteBatch batch(bytes + 64 * static_cast<size_t>(ops));
    // Range deletions first: nothing else in the batch is of a dropped task.
    for (int32_t task : dropped) {
      const std::string begin = TaskPrefix(task);
      const std::string end = TaskPrefix(task + 1);
      for (Cf cf : {kResponses, kRespondents, kQuota, kStats, kQuality}) {
        batch.DeleteRange(store->cf(cf), begin, end);
      }
    }
    for (const std::string& key : deleted_offsets) batch.Delete(store->cf(kOffsets), key);
    std::vector<std::pair<std::string_view, std::string_view>> sorted;
    for (int cf = 0; cf < kCfCount; ++cf) {
      sorted.assign(written[cf].begin(), written[cf].end());
      std::sort(sorted.begin(), sorted.end());
      for (const auto& [k, v] : sorted) {
        batch.Put(store->cf(static_cast<Cf>(cf)), rocksdb::Slice(k.data(), k.size()),
                  rocksdb::Slice(v.data(), v.size()));
      }
      sorted.assign(merged[cf].begin(), merged[cf].end());
      std::stable_sort(sorted.begin(), sorted.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
      for (const auto& [k, v] : sorted) {
        batch.Merge(store->cf(static_cast<Cf>(cf)), rocksdb::Slice(k.data(), k.size()),
                    rocksdb::Slice(v.data(), v.size()));
      }
    }
    return batch;
  }
};

class RocksStateBatch : public StateBatch {
 public:
  explicit RocksStateBatch(std::unique_ptr<BatchImpl> impl) : impl_(std::move(impl)) {}
  absl::StatusOr<std::optional<ResponseRecord>> GetResponse(int32_t task, std::string_view wave,
                                                            std::string_view wijk, std::string_view response_id,
                                                            const Methodology& m, const ReadAhead* ahead) override;
  absl::StatusOr<RespondentRecord> GetRespondent(int32_t task, std::string_view wave, std::string_view wijk,
                                                 const Digest256& respondent, const ReadAhead* ahead) override;
  absl::StatusOr<std::optional<ResponseRecord>> GetClaimed(int32_t task, std::string_view wave, std::string_view wijk,
                                                           const RespondentRecord& claim, const Methodology& m) override;
  void PutCounted(int32_t task, const CountedResponse& r, std::string_view wijk, Outcome outcome) override;
  void PutRejected(int32_t task, std::string_view wave, std::string_view wijk, std::string_view response_id,
                   RejectReason reason, const Attribution& a, bool passed_checks) override;
  void PutRespondent(int32_t task, std::string_view wave, std::string_view wijk, const Digest256& respondent,
                     const RespondentRecord& record) override;
  void PutAggregates(int32_t task, const StateKey& key, const WijkState& state, int indicator_count,
                     const QualityTally& quality_change) override;
  void PutOffset(const std::string& topic, int32_t partition, int64_t next_offset) override;
  void PutMeta(std::string_view key, std::string_view value) override;
  void DropTask(int32_t task, const std::string& topic) override {
    impl_->dropped.push_back(task);
    impl_->deleted_offsets.push_back(OffsetKey(topic, task));
    impl_->ops += 6;
  }
  void PreviousWritten() override { impl_->previous = nullptr; }
  int Count() const override { return impl_->ops; }
  size_t ByteSize() const override { return impl_->bytes; }
  BatchImpl& impl() { return *impl_; }
  const BatchImpl& impl() const { return *impl_; }

 private:
  std::unique_ptr<BatchImpl> impl_;
};

absl::StatusOr<std::optional<ResponseRecord>> RocksStateBatch::GetResponse(int32_t task, std::string_view wave,
                                                                      std::string_view wijk,
                                                                      std::string_view response_id,
                                                                      const Methodology& m,
                                                                      const ReadAhead* ahead) {
  absl::StatusOr<std::optional<std::string>> v =
      impl_->Get(kResponses, impl_->Key(task, wave, wijk, response_id), ahead);
  if (!v.ok()) return v.status();
  if (!v->has_value()) return std::optional<ResponseRecord>();
  absl::StatusOr<ResponseRecord> rec = DecodeResponse(**v, wave, response_id, m);
  if (!rec.ok()) return rec.status();
  return std::optional<ResponseRecord>(std::move(*rec));
}

absl::StatusOr<RespondentRecord> RocksStateBatch::GetRespondent(int32_t task, std::string_view wave,
                                                           std::string_view wijk,
                                                           const Digest256& respondent,
                                                           const ReadAhead* ahead) {
  absl::StatusOr<std::optional<std::string>> v =
      impl_->Get(kRespondents, impl_->Key(task, wave, wijk, IdOf(respondent)), ahead);
  if (!v.ok()) return v.status();
  RespondentRecord rec;
  if (!v->has_value()) return rec;
  RespondentEntry e;
  if (!e.ParseFromString(**v) || e.state() > 2) {
    return absl::DataLossError("a stored respondent entry is corrupt");
  }
  rec.state = static_cast<RespondentState>(e.state());
  rec.response_id = e.response_id();
  rec.duplicates.assign(e.duplicates().begin(), e.duplicates().end());
  rec.counted = std::move(*e.mutable_counted());
  return rec;
}

absl::StatusOr<std::optional<ResponseRecord>> RocksStateBatch::GetClaimed(int32_t task, std::string_view wave,
                                                                     std::string_view wijk,
                                                                     const RespondentRecord& claim,
                                                                     const Methodology& m) {
  if (claim.counted.empty()) return GetResponse(task, wave, wijk, claim.response_id, m, nullptr);  // schema 4
  absl::StatusOr<ResponseRecord> rec = DecodeResponse(claim.counted, wave, claim.response_id, m);
  if (!rec.ok()) return rec.status();
  return std::optional<ResponseRecord>(std::move(*rec));
}

void RocksStateBatch::PutCounted(int32_t task, const CountedResponse& r, std::string_view wijk, Outcome outcome) {
  BatchImpl& in = *impl_;
  EncodeCounted(r, outcome, &in.counted);
  in.claim.Clear();
  in.claim.set_state(static_cast<uint32_t>(RespondentState::kClaimed));
  in.claim.set_response_id(r.response_id);
  in.counted.AppendToString(in.claim.mutable_counted());
  in.Put(kRespondents, in.Key(task, r.wave, wijk, IdOf(r.respondent)), in.claim);
}

void RocksStateBatch::PutRejected(int32_t task, std::string_view wave, std::string_view wijk,
                             std::string_view response_id, RejectReason reason,
                             const Attribution& a, bool passed_checks) {
  impl_->Put(kResponses, impl_->Key(task, wave, wijk, response_id), EncodeRejected(reason, a, passed_checks));
}

void RocksStateBatch::PutRespondent(int32_t task, std::string_view wave, std::string_view wijk,
                               const Digest256& respondent, const RespondentRecord& record) {
  RespondentEntry e;
  e.set_state(static_cast<uint32_t>(record.state));
  e.set_response_id(record.response_id);
  for (const std::string& d : record.duplicates) e.add_duplicates(d);
  e.set_counted(record.counted);
  impl_->Put(kRespondents, impl_->Key(task, wave, wijk, IdOf(respondent)), e);
}

void RocksStateBatch::PutAggregates(int32_t task, const StateKey& key, const WijkState& state, int indicator_count,
                               const QualityTally& quality_change) {
  const std::string k = KeyOf(task, key.wave, key.wijk);
  impl_->Put(kQuota, k, EncodeQuota(state));
  impl_->Put(kStats, k, EncodeStats(state, indicator_count));
  if (!quality_change.Empty()) impl_->Merge(kQuality, k, EncodeQuality(quality_change));
}

void RocksStateBatch::PutOffset(const std::string& topic, int32_t partition, int64_t next_offset) {
  impl_->PutRaw(kOffsets, OffsetKey(topic, partition), EncodeOffset(next_offset));
}

void RocksStateBatch::PutMeta(std::string_view key, std::string_view value) {
  impl_->PutRaw(kMeta, std::string(key), value);
}

class RocksStateStore : public StateStore {
 public:
  explicit RocksStateStore(std::unique_ptr<StoreImpl> impl) : impl_(std::move(impl)) {}
  const std::string& dir() const override { return impl_->dir; }
  absl::StatusOr<OffsetMap> LoadOffsets() const override;
  absl::Status LoadAggregates(const Methodology& m, TaskStates& tasks) const override;
  absl::Status LoadTask(const Methodology& m, int32_t task, FieldworkState& state) const override;
  absl::Status LoadWithdrawn(std::vector<Tombstone>& out) const override;
  absl::StatusOr<std::optional<std::string>> GetMeta(std::string_view key) const override;
  std::unique_ptr<StateBatch> NewBatch(const StateBatch* previous) override;
  absl::Status Commit(StateBatch& batch) override;
  std::unique_ptr<ReadAhead> NewReadAhead() const override { return std::make_unique<RocksReadAhead>(); }
  void Read(ReadAhead& ahead) const override;
  ReadAheadCounts read_ahead_counts() const override {
    return ReadAheadCounts{impl_->used.load(), impl_->stale.load(), impl_->direct.load()};
  }
  absl::Status ForEachResponse(const Methodology& m, const ResponseVisitor& visit) const override;
  absl::Status ForEachRespondent(
      const std::function<void(int32_t, std::string_view, std::string_view, const RespondentRecord&)>& visit)
      const override;
  absl::Status ReplaceAggregates(const TaskStates& tasks, int indicator_count,
                                 std::string_view methodology_hash) override;
  StoreStats Stats() const override;
  absl::Status Resume() override;
  bool IsOpen() const override;
  int64_t FreeBytes() const override;
  int64_t min_free_bytes() const override;

 private:
  absl::Status LoadPrefix(const Methodology& m, const std::string& prefix, TaskStates& tasks) const;
  std::unique_ptr<StoreImpl> impl_;
};

absl::StatusOr<std::unique_ptr<StoreImpl>> OpenImpl(const StoreOptions& options) {
  namespace fs = std::filesystem;
  auto impl = std::make_unique<StoreImpl>();
  impl->dir = options.dir;
  impl->options = options;
  const std::string& dir = options.dir;
  std::error_code ec;
  if (!options.read_only) {
    // Opening for writing writes (a new log, the manifest, the recovered log
    // flushed to a table): on a full disk Debian's RocksDB aborts inside Open.
    if (absl::Status st = CheckFreeSpace(dir, options.min_free_bytes); !st.ok()) return st;
  }
  const bool exists = fs::exists(fs::path(dir) / "CURRENT", ec);
  if (!exists) {
    if (options.read_only || !options.create_if_missing) {
      return absl::NotFoundError(Cat("state directory ", dir,
                                              " holds no wijkpuls state (no RocksDB CURRENT file)"));
    }
    if (fs::exists(dir, ec)) {
      for (const auto& entry : fs::directory_iterator(dir, ec)) {
        if (entry.path().filename() != "lost+found") {
          return absl::InvalidArgumentError(Cat(
              "state directory ", dir, " is not empty but holds no wijkpuls state; refusing to use it"));
        }
      }
    }
    fs::create_directories(dir, ec);
    if (ec) {
      // A path that is a file, or not ours to write: the configuration is
      // wrong, and restarting will not help. Anything else may pass.
      const bool wrong_path = ec == std::errc::not_a_directory || ec == std::errc::file_exists ||
                              ec == std::errc::permission_denied || ec == std::errc::read_only_file_system;
      std::string why = Cat("state directory ", dir, " cannot be created: ", ec.message());
      return wrong_path ? absl::InvalidArgumentError(std::move(why)) : absl::UnavailableError(std::move(why));
    }
  }

  rocksdb::Options db_options;
  db_options.create_if_missing = options.create_if_missing;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  db_options.keep_log_file_num = 3;
  // A log file is deleted once every column family's writes in it are
  // flushed. Since counted responses went into `respondents` alone (schema
  // 5), `responses` (rejected records only) fills its memtable slowly and
  // held 100 MB of logs after a 1M replay (44 MB before); past this size,
  // RocksDB flushes the families that hold the oldest log. Bounds the
  // directory and the log a restart replays.
  db_options.max_total_wal_size = static_cast<uint64_t>(2 * options.write_buffer_bytes);
  db_options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  // Counters only (no histograms or timers, which read the clock): they are
  // per-core and cost nothing measurable (bench/README.md).
  impl->statistics = rocksdb::CreateDBStatistics();
  impl->statistics->set_stats_level(rocksdb::StatsLevel::kExceptHistogramOrTimers);
  db_options.statistics = impl->statistics;
  rocksdb::BlockBasedTableOptions table;
  // Memory is bounded by the block cache, whatever the state's size: index
  // and filter blocks live in it too. Indexes are partitioned (a small top
  // level, pinned, over 4 KB partitions), so that a lookup loads one partition
  // and not a whole file's index: with whole indexes, once the state outgrew
  // the cache every lookup of a stored key read and parsed about a megabyte
  // (250-370 us per hit at 1M stored responses; bench/README.md).
  // Bloom filters are whole per file: most lookups are of keys never seen,
  // and a partitioned filter costs each of them, per file, a seek in the
  // filter's top level and a cache lookup for the partition (about a fifth of
  // the pipeline thread of a 1M replay; bench/README.md). Whole filters take
  // 1.25 MB per million keys of a column family (table properties of a 1M
  // replay), in the cache's high-priority half (32 MB of the default 64): by
  // arithmetic, cached up to about 10 million stored responses; beyond that,
  // state.block_cache_mb must grow with the state (README, configuration).
  table.block_cache = rocksdb::NewLRUCache(static_cast<size_t>(options.block_cache_bytes),
                                           BlockCacheShardBits(options.block_cache_bytes),
                                           /*strict_capacity_limit=*/false,
                                           /*high_pri_pool_ratio=*/0.5);
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  table.index_type = rocksdb::BlockBasedTableOptions::kTwoLevelIndexSearch;
  table.partition_filters = false;
  table.metadata_block_size = 4096;
  table.cache_index_and_filter_blocks = true;
  table.cache_index_and_filter_blocks_with_high_priority = true;
  table.pin_top_level_index_and_filter = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  rocksdb::ColumnFamilyOptions cf_options;
  cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  // LZ4 on every level. ZSTD on the last level made the files 6% smaller but
  // was 47% of the compaction thread's samples (perf, 1M replay):
  // BM_StoreFloor 7.0-7.4 -> 6.4-6.6 us per record (bench/README.md). SST directories written before keep their
  // ZSTD files until they are compacted; both are read.
  cf_options.compression = rocksdb::kLZ4Compression;
  cf_options.bottommost_compression = rocksdb::kLZ4Compression;
  cf_options.write_buffer_size = static_cast<size_t>(options.write_buffer_bytes);
  cf_options.max_write_buffer_number = 3;
  // All memtables together stay within twice one write buffer, not 3 x write
  // buffer x 7 column families: memory is bounded by configuration, not by
  // the state's size.
  db_options.write_buffer_manager = std::make_shared<rocksdb::WriteBufferManager>(
      2 * static_cast<size_t>(options.write_buffer_bytes));
  // Most dedup lookups are of keys never seen: a bloom filter over the
  // memtable answers them without walking its skip list.
  cf_options.memtable_prefix_bloom_size_ratio = 0.02;
  cf_options.memtable_whole_key_filtering = true;
  cf_options.memtable_insert_with_hint_prefix_extractor = std::make_shared<WaveWijkPrefix>();
  rocksdb::ColumnFamilyOptions quality_options = cf_options;
  quality_options.merge_operator = std::make_shared<QualityMerge>();

  std::vector<std::string> existing;
  if (exists) {
    rocksdb::Status s = rocksdb::DB::ListColumnFamilies(db_options, dir, &existing);
    if (!s.ok()) return FromRocks(s, Cat("state directory ", dir));
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (int c = 0; c < kCfCount; ++c) {
    descriptors.emplace_back(std::string(kCfNames[c]), c == kQuality ? quality_options : cf_options);
  }
  for (const std::string& name : existing) {
    bool known = false;
    for (std::string_view n : kCfNames) known = known || n == name;
    if (!known) descriptors.emplace_back(name, cf_options);  // must be opened to open the DB
  }
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s =
      options.read_only
          ? rocksdb::DB::OpenForReadOnly(db_options, dir, descriptors, &impl->cfs, &raw)
          : rocksdb::DB::Open(db_options, dir, descriptors, &impl->cfs, &raw);
  if (!s.ok()) {
    if (Contains(s.ToString(), "lock")) {
      return absl::FailedPreconditionError(Cat(
          "state directory ", dir,
          " is in use by another process (its LOCK is held): is another wijkpuls running on it?"));
    }
    return FromRocks(s, Cat("state directory ", dir, " cannot be opened"));
  }
  impl->db.reset(raw);
  impl->existed = exists;
  impl->write_options.sync = options.sync_writes;
  return impl;
}

absl::StatusOr<std::unique_ptr<StateStore>> OpenStateStore(const StoreOptions& options) {
  namespace fs = std::filesystem;
  const fs::path marker = fs::path(options.dir) / kSchemaFile;
  std::error_code ec;
  if (!options.read_only && fs::exists(fs::path(options.dir) / "CURRENT", ec) && !fs::exists(marker, ec)) {
    // A directory this release has not opened yet: its version is checked
    // read-only first, since opening for writing may flush the log with this
    // release's encodings, which the release that wrote a refused directory
    // could then not read.
    StoreOptions look = options;
    look.read_only = true;
    absl::StatusOr<std::unique_ptr<StateStore>> seen = OpenStateStore(look);
    if (!seen.ok() && seen.status().code() == absl::StatusCode::kFailedPrecondition &&
        Contains(std::string(seen.status().message()), "schema version")) {
      return seen.status();
    }
  }
  absl::StatusOr<std::unique_ptr<StoreImpl>> impl = OpenImpl(options);
  if (!impl.ok()) return impl.status();
  const std::string& dir = options.dir;
  const bool exists = (*impl)->existed;
  std::unique_ptr<StateStore> store = std::make_unique<RocksStateStore>(std::move(*impl));
  absl::StatusOr<std::optional<std::string>> version = store->GetMeta(kMetaSchemaVersion);
  if (!version.ok()) return version.status();
  if (!version->has_value()) {
    if (exists) {
      return absl::FailedPreconditionError(
          Cat("state directory ", dir, " has no schema version: not a wijkpuls state directory"));
    }
    std::unique_ptr<StateBatch> b = store->NewBatch();
    b->PutMeta(kMetaSchemaVersion, std::to_string(kSchemaVersion));
    if (absl::Status st = store->Commit(*b); !st.ok()) return st;
  } else {
    int v = 0;
    const std::string& text = **version;
    auto [p, err] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (err != std::errc() || p != text.data() + text.size()) {
      return absl::DataLossError(Cat("state directory ", dir, ": schema version \"", text,
                                              "\" is not a number"));
    }
    if (v > kSchemaVersion) {
      return absl::FailedPreconditionError(Cat(
          "state directory ", dir, " has schema version ", v, ", newer than this wijkpuls (",
          kSchemaVersion, "): use the wijkpuls release that wrote it"));
    }
    if (v < kOldestSchemaVersion) {
      return absl::FailedPreconditionError(Cat(
          "state directory ", dir, " has schema version ", v, ", written by an earlier wijkpuls; this one (",
          kSchemaVersion, ") keeps each input partition's state apart, which version ", v,
          " did not record, so it cannot be upgraded: move the directory aside and start again, and "
          "the state is read again from the input topics, which must still hold the whole wave (a "
          "partition whose log no longer starts at 0 stays paused: kafka.accept_truncated_input), "
          "or finish the wave with the release that wrote it"));
    }
    if (v < kSchemaVersion && !options.read_only) {
      // Before the first write of the new layout (schema.h: nothing else changes).
      std::unique_ptr<StateBatch> b = store->NewBatch();
      b->PutMeta(kMetaSchemaVersion, std::to_string(kSchemaVersion));
      if (absl::Status st = store->Commit(*b); !st.ok()) return st;
      spdlog::info("state directory {}: upgraded from schema version {} to {}", dir, v, kSchemaVersion);
      fs::remove(marker, ec);  // written again below, with the new number
    }
  }
  if (!options.read_only && !fs::exists(marker, ec)) {
    // Says the directory was opened by a release of schema 4 or later.
    std::ofstream out(marker);
    out << kSchemaVersion << "\n";
    if (!out.flush()) {
      return absl::UnavailableError(Cat("state directory ", dir, ": cannot write ", marker.string()));
    }
  }
  return store;
}

absl::StatusOr<OffsetMap> RocksStateStore::LoadOffsets() const {
  OffsetMap out;
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->cf(kOffsets)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    std::string topic;
    int partition = 0;
    std::optional<int64_t> offset = DecodeOffset(View(it->value()));
    if (!SplitOffsetKey(View(it->key()), &topic, &partition) || !offset) {
      return absl::DataLossError(Cat("state directory ", impl_->dir, ": a stored offset is corrupt"));
    }
    out[{topic, partition}] = *offset;
  }
  if (!it->status().ok()) return FromRocks(it->status(), "reading offsets");
  return out;
}

absl::Status RocksStateStore::LoadAggregates(const Methodology& m, TaskStates& tasks) const {
  tasks.clear();
  return LoadPrefix(m, "", tasks);
}

absl::Status RocksStateStore::LoadTask(const Methodology& m, int32_t task, FieldworkState& state) const {
  TaskStates tasks;
  if (absl::Status st = LoadPrefix(m, TaskPrefix(task), tasks); !st.ok()) return st;
  state = std::move(tasks[task]);
  return absl::OkStatus();
}

absl::Status RocksStateStore::LoadPrefix(const Methodology& m, const std::string& prefix, TaskStates& tasks) const {
  const int k = static_cast<int>(m.indicators.size());
  std::map<std::string, WijkState> loaded;
  auto scan = [&](Cf cf, auto&& apply) -> absl::Status {
    std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->cf(cf)));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      if (absl::Status st = apply(std::string(View(it->key())), View(it->value())); !st.ok()) return st;
    }
    return FromRocks(it->status(), "reading aggregates");
  };
  absl::Status st = scan(kQuota, [&](const std::string& key, std::string_view v) {
    QuotaState q;
    if (!q.ParseFromArray(v.data(), static_cast<int>(v.size()))) return absl::DataLossError("quota aggregate is corrupt");
    return DecodeAggregates(&q, nullptr, nullptr, k, loaded[key]);
  });
  if (st.ok()) {
    st = scan(kStats, [&](const std::string& key, std::string_view v) {
      StatsState s;
      if (!s.ParseFromArray(v.data(), static_cast<int>(v.size()))) return absl::DataLossError("stats aggregate is corrupt");
      return DecodeAggregates(nullptr, &s, nullptr, k, loaded[key]);
    });
  }
  if (st.ok()) {
    st = scan(kQuality, [&](const std::string& key, std::string_view v) {
      QualityState q;
      if (!q.ParseFromArray(v.data(), static_cast<int>(v.size()))) return absl::DataLossError("quality aggregate is corrupt");
      return DecodeAggregates(nullptr, nullptr, &q, k, loaded[key]);
    });
  }
  if (!st.ok()) return absl::Status(st.code(), Cat("state directory ", impl_->dir, ": ", st.message()));
  for (auto& [key, w] : loaded) {
    int32_t task = 0;
    std::string_view wave, wijk, rest;
    if (!SplitKey(key, &task, &wave, &wijk, &rest) || !rest.empty()) {
      return absl::DataLossError(Cat("state directory ", impl_->dir, ": an aggregate key is corrupt"));
    }
    tasks[task].Put(StateKey{std::string(wave), std::string(wijk)}, std::make_shared<WijkState>(std::move(w)));
  }
  return absl::OkStatus();
}

absl::Status RocksStateStore::LoadWithdrawn(std::vector<Tombstone>& out) const {
  out.clear();
  const std::string prefix = TaskPrefix(kInstanceTask);
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->cf(kRespondents)));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    int32_t task = 0;
    std::string_view wave, wijk, id;
    RespondentEntry e;
    if (!SplitKey(View(it->key()), &task, &wave, &wijk, &id) || id.size() != Digest256().size() ||
        !e.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError(Cat("state directory ", impl_->dir, ": a stored withdrawal is corrupt"));
    }
    if (e.state() != static_cast<uint32_t>(RespondentState::kWithdrawn)) continue;
    Tombstone& t = out.emplace_back();
    t.wave = wave;
    t.wijk = wijk;
    std::memcpy(t.respondent.data(), id.data(), id.size());
  }
  return FromRocks(it->status(), "reading withdrawals");
}

absl::StatusOr<std::optional<std::string>> RocksStateStore::GetMeta(std::string_view key) const {
  std::string value;
  rocksdb::Status s = impl_->db->Get(rocksdb::ReadOptions(), impl_->cf(kMeta),
                                     rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return std::optional<std::string>();
  if (!s.ok()) return FromRocks(s, "reading metadata");
  return std::optional<std::string>(std::move(value));
}

std::unique_ptr<StateBatch> RocksStateStore::NewBatch(const StateBatch* previous) {
  auto impl = std::make_unique<BatchImpl>();
  impl->store = impl_.get();
  if (previous != nullptr) {
    impl->previous = &static_cast<const RocksStateBatch*>(previous)->impl();
    // Sized like the batch before it: a growing map hashes every key again
    // each time it doubles (the batch before is only read while written).
    for (int cf = 0; cf < kCfCount; ++cf) impl->written[cf].reserve(impl->previous->written[cf].size());
  }
  return std::make_unique<RocksStateBatch>(std::move(impl));
}

absl::Status RocksStateStore::Commit(StateBatch& batch) {
  if (impl_->poisoned) {
    return absl::FailedPreconditionError(Cat("state directory ", impl_->dir, " is closed after a failed write"));
  }
  rocksdb::WriteBatch wb = static_cast<RocksStateBatch&>(batch).impl().Build();
  rocksdb::Status s = impl_->Write(wb);
  if (!s.ok()) impl_->poisoned = true;
  return FromRocks(s, Cat("writing to state directory ", impl_->dir));
}

void RocksStateStore::Read(ReadAhead& ahead) const {
  RocksReadAhead& p = static_cast<RocksReadAhead&>(ahead);
  // Before the reads: a batch written after this may be missed by them.
  p.writes_before = impl_->writes.load(std::memory_order_acquire);
  std::vector<rocksdb::Slice>& keys = p.slices;
  std::vector<rocksdb::PinnableSlice>& values = p.found;
  std::vector<rocksdb::Status>& statuses = p.statuses;
  for (int slot = 0; slot < 2; ++slot) {
    RocksReadAhead::Keys& k = p.keys[slot];
    // Sorted and without repeats, as MultiGet reads best.
    std::sort(k.keys.begin(), k.keys.begin() + static_cast<std::ptrdiff_t>(k.n));
    keys.clear();
    for (size_t i = 0; i < k.n; ++i) {
      if (i > 0 && k.keys[i] == k.keys[i - 1]) continue;
      keys.emplace_back(k.keys[i]);
    }
    if (keys.empty()) continue;
    values.resize(keys.size());
    statuses.resize(keys.size());
    impl_->db->MultiGet(impl_->read_options, impl_->cf(RocksReadAhead::kCfs[slot]), keys.size(),
                        keys.data(), values.data(), statuses.data(), /*sorted_input=*/true);
    auto& out = p.values[slot];
    out.reserve(keys.size());
    for (size_t i = 0; i < keys.size(); ++i) {
      // A key whose read failed is left out: its lookup reads (and reports) it.
      if (statuses[i].ok()) {
        out.emplace(View(keys[i]), std::string(values[i].data(), values[i].size()));
      } else if (statuses[i].IsNotFound()) {
        out.emplace(View(keys[i]), std::nullopt);
      }
      values[i].Reset();  // unpins its block, and the slot is reused
    }
  }
}

absl::Status RocksStateStore::ForEachResponse(const Methodology& m, const ResponseVisitor& visit) const {
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->cf(kResponses)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    int32_t task = 0;
    std::string_view wave, wijk, id;
    if (!SplitKey(View(it->key()), &task, &wave, &wijk, &id)) {
      return absl::DataLossError(Cat("state directory ", impl_->dir, ": a response key is corrupt"));
    }
    absl::StatusOr<ResponseRecord> rec = DecodeResponse(View(it->value()), wave, id, m);
    if (!rec.ok()) return rec.status();
    if (absl::Status st = visit(task, wave, wijk, id, *rec); !st.ok()) return st;
  }
  if (absl::Status st = FromRocks(it->status(), "reading responses"); !st.ok()) return st;
  // The counted responses held by their claims (schema 5).
  it.reset(impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->cf(kRespondents)));
  RespondentEntry e;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    int32_t task = 0;
    std::string_view wave, wijk, id;
    if (!SplitKey(View(it->key()), &task, &wave, &wijk, &id) ||
        !e.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError(Cat("state directory ", impl_->dir, ": a respondent entry is corrupt"));
    }
    if (e.state() != static_cast<uint32_t>(RespondentState::kClaimed) || e.counted().empty()) continue;
    absl::StatusOr<ResponseRecord> rec = DecodeResponse(e.counted(), wave, e.response_id(), m);
    if (!rec.ok()) return rec.status();
    if (absl::Status st = visit(task, wave, wijk, e.response_id(), *rec); !st.ok()) return st;
  }
  return FromRocks(it->status(), "reading respondents");
}

absl::Status RocksStateStore::ForEachRespondent(
    const std::function<void(int32_t, std::string_view, std::string_view, const RespondentRecord&)>& visit)
    const {
  std::unique_ptr<rocksdb::Iterator> it(
      impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->cf(kRespondents)));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    int32_t task = 0;
    std::string_view wave, wijk, id;
    RespondentEntry e;
    if (!SplitKey(View(it->key()), &task, &wave, &wijk, &id) ||
        !e.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError("a stored respondent entry is corrupt");
    }
    visit(task, wave, wijk,
          RespondentRecord{static_cast<RespondentState>(e.state()), e.response_id(),
                           std::vector<std::string>(e.duplicates().begin(), e.duplicates().end()),
                           std::move(*e.mutable_counted())});
  }
  return FromRocks(it->status(), "reading respondents");
}

absl::Status RocksStateStore::ReplaceAggregates(const TaskStates& tasks, int indicator_count,
                                           std::string_view methodology_hash) {
  rocksdb::WriteBatch wb;
  for (Cf cf : {kQuota, kStats, kQuality}) {
    std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->cf(cf)));
    for (it->SeekToFirst(); it->Valid(); it->Next()) wb.Delete(impl_->cf(cf), it->key());
    if (!it->status().ok()) return FromRocks(it->status(), "reading aggregates");
  }
  for (const auto& [task, state] : tasks) {
    for (const auto& [key, w] : state.wijken()) {
      const std::string k = KeyOf(task, key.wave, key.wijk);
      wb.Put(impl_->cf(kQuota), k, EncodeQuota(*w).SerializeAsString());
      wb.Put(impl_->cf(kStats), k, EncodeStats(*w, indicator_count).SerializeAsString());
      wb.Put(impl_->cf(kQuality), k, EncodeQuality(w->quality).SerializeAsString());
    }
  }
  wb.Put(impl_->cf(kMeta), std::string(kMetaMethodologyHash), std::string(methodology_hash));
  return FromRocks(impl_->Write(wb), "replacing aggregates");
}

bool RocksStateStore::IsOpen() const { return impl_ && impl_->db != nullptr && !impl_->poisoned; }

int64_t RocksStateStore::min_free_bytes() const { return impl_->options.min_free_bytes; }

int64_t RocksStateStore::FreeBytes() const { return FreeBytesAt(impl_->dir); }

StoreStats RocksStateStore::Stats() const {
  StoreStats st;
  if (!IsOpen()) return st;
  uint64_t v = 0;
  std::vector<rocksdb::ColumnFamilyHandle*> cfs(impl_->cfs.begin(), impl_->cfs.end());
  for (rocksdb::ColumnFamilyHandle* h : cfs) {
    if (impl_->db->GetIntProperty(h, "rocksdb.estimate-live-data-size", &v)) st.live_data_bytes += v;
    if (impl_->db->GetIntProperty(h, "rocksdb.total-sst-files-size", &v)) st.sst_bytes += v;
    if (impl_->db->GetIntProperty(h, "rocksdb.estimate-pending-compaction-bytes", &v)) {
      st.pending_compaction_bytes += v;
    }
    if (impl_->db->GetIntProperty(h, "rocksdb.cur-size-all-mem-tables", &v)) st.memtable_bytes += v;
  }
  using T = rocksdb::Tickers;
  constexpr T kHits[StoreStats::kBlockKinds] = {T::BLOCK_CACHE_FILTER_HIT, T::BLOCK_CACHE_INDEX_HIT,
                                                T::BLOCK_CACHE_DATA_HIT};
  constexpr T kMisses[StoreStats::kBlockKinds] = {T::BLOCK_CACHE_FILTER_MISS, T::BLOCK_CACHE_INDEX_MISS,
                                                  T::BLOCK_CACHE_DATA_MISS};
  for (int b = 0; b < StoreStats::kBlockKinds; ++b) {
    st.block_cache_hits[b] = impl_->statistics->getTickerCount(kHits[b]);
    st.block_cache_misses[b] = impl_->statistics->getTickerCount(kMisses[b]);
  }
  return st;
}

absl::Status RocksStateStore::Resume() { return FromRocks(impl_->db->Resume(), "resuming the state store"); }

}  // namespace wijkpuls
