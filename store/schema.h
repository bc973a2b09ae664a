// Layout of the RocksDB state directory; see docs/design.md, "Storage".
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace wijkpuls::store {

// Version of the stored layout. A directory of a newer version is refused;
// one of an older version is upgraded when opened for writing.
//   1: every aggregate a whole value.
//   2: the quality tally written as merge operands (each batch's change),
//      which a release of version 1 cannot read. A version 1 directory is a
//      valid version 2 one: upgrading only writes the number.
//   3: a quality group's counts by name, and its counts by flag and by reject
//      reason keyed by the enum's stored number (QualityGroupState), so that
//      a new reason changes nothing stored. Version 2's positional counts are
//      still read wherever they are (log, memtables, table files, merge
//      operands): upgrading only writes the number. A release of version 2
//      cannot read version 3 values and refuses the directory.
//   4: every key of responses, respondents and the aggregates starts with
//      the task: the input partition whose records made it (task -1: the
//      instance's own, the withdrawal tombstones), so that a partition's
//      state is one key range (docs/design.md, "Several instances"). Version
//      3 did not keep which partition a wijk's records came from, so a
//      version 3 directory cannot be upgraded: it is refused with a message
//      (move it aside; the state is read again from the input topics).
//   5: a counted response is stored in its respondent's claim (respondents,
//      RespondentEntry.counted), not under its response_id as well: one key
//      per counted response (docs/design.md, "Storage"). A version 4
//      directory is a valid version 5 one: its counted responses stay under
//      their ids and are read there (StateBatch::GetClaimed, ForEachResponse),
//      so upgrading only writes the number. A release of version 4 would miss
//      the counted responses held by claims, and refuses the directory.
inline constexpr int kSchemaVersion = 5;
// The oldest version this release opens.
inline constexpr int kOldestSchemaVersion = 4;

inline constexpr std::string_view kCfMeta = "default";         // schema version, methodology hash
inline constexpr std::string_view kCfOffsets = "offsets";      // topic | partition -> next offset
inline constexpr std::string_view kCfResponses = "responses";  // task | wave | wijk | response_id (not counted)
inline constexpr std::string_view kCfRespondents = "respondents";  // task | wave | wijk | pseudonym (claims hold the counted response)
inline constexpr std::string_view kCfQuota = "quota";          // task | wave | wijk
inline constexpr std::string_view kCfStats = "stats";          // task | wave | wijk
inline constexpr std::string_view kCfQuality = "quality";      // task | wave | wijk

inline constexpr std::string_view kMetaSchemaVersion = "schema_version";
// A file beside RocksDB's, written when a release of schema 4 or later has
// opened the directory: one without it is checked read-only before it is
// opened for writing (an earlier schema is refused untouched).
inline constexpr const char* kSchemaFile = "WIJKPULS_SCHEMA";
inline constexpr std::string_view kMetaMethodologyHash = "methodology_sha256";

// Keys are the task (4 bytes, big-endian, sign bit flipped: task -1 sorts
// first) and length-prefixed parts, so that task is a prefix of every key of
// a task, task | wave | wijk of every key of a wijk in it, and no part can
// spill into the next.
inline constexpr size_t kTaskBytes = 4;
std::string TaskPrefix(int32_t task);
std::string KeyOf(int32_t task, std::string_view wave, std::string_view wijk);
std::string KeyOf(int32_t task, std::string_view wave, std::string_view wijk, std::string_view id);
// The same into `out` (reusing its buffer).
void KeyOf(int32_t task, std::string_view wave, std::string_view wijk, std::string_view id, std::string* out);
// Splits a KeyOf key; false when malformed.
bool SplitKey(std::string_view key, int32_t* task, std::string_view* wave, std::string_view* wijk,
              std::string_view* id);
std::string OffsetKey(std::string_view topic, int partition);
bool SplitOffsetKey(std::string_view key, std::string* topic, int* partition);

}  // namespace wijkpuls::store
