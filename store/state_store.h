// The RocksDB state directory, behind process/state.h's StateStore: every
// response_id seen, the counted responses (normalised, pseudonymised),
// respondent claims and withdrawals, the aggregates of every (wave, wijk), and
// the next input offset of every partition. One StateBatch is written
// atomically (one WriteBatch with the WAL): state and the offsets that
// produced it are never apart. RocksDB types stay inside store/.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "process/state.h"

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

// Opens (or creates) the state directory: checks the schema version and the
// free space, takes the directory's lock. Errors name the directory and what
// is wrong.
absl::StatusOr<std::unique_ptr<StateStore>> OpenStateStore(const StoreOptions& options);

}  // namespace wijkpuls
