// Layout of the RocksDB state directory; see docs/design.md, "Storage".
#pragma once

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
inline constexpr int kSchemaVersion = 3;

inline constexpr std::string_view kCfMeta = "default";         // schema version, methodology hash
inline constexpr std::string_view kCfOffsets = "offsets";      // topic | partition -> next offset
inline constexpr std::string_view kCfResponses = "responses";  // wave | wijk | response_id
inline constexpr std::string_view kCfRespondents = "respondents";  // wave | wijk | pseudonym
inline constexpr std::string_view kCfQuota = "quota";          // wave | wijk
inline constexpr std::string_view kCfStats = "stats";          // wave | wijk
inline constexpr std::string_view kCfQuality = "quality";      // wave | wijk

inline constexpr std::string_view kMetaSchemaVersion = "schema_version";
inline constexpr std::string_view kMetaMethodologyHash = "methodology_sha256";

// Keys are length-prefixed parts, so that wave | wijk is a prefix of every key
// of a wijk and no part can spill into the next.
std::string KeyOf(std::string_view wave, std::string_view wijk);
std::string KeyOf(std::string_view wave, std::string_view wijk, std::string_view id);
// The same into `out` (reusing its buffer).
void KeyOf(std::string_view wave, std::string_view wijk, std::string_view id, std::string* out);
// Splits a KeyOf key; false when malformed.
bool SplitKey(std::string_view key, std::string_view* wave, std::string_view* wijk,
              std::string_view* id);
std::string OffsetKey(std::string_view topic, int partition);
bool SplitOffsetKey(std::string_view key, std::string* topic, int* partition);

}  // namespace wijkpuls::store
