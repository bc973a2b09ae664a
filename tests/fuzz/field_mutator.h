// Structure-aware mutation for record_fuzz (its libFuzzer custom mutator):
// parses a record value as a SurveyResponse or a Withdrawal, binary or JSON,
// sets a field to an edge value (Timestamp and window bounds, enum ends,
// answer codes, codebook items of both instruments, ids at their length
// limits, ...) and encodes it again, in either encoding. In a sequence it
// also repeats, swaps and re-encodes records. Byte-level mutation, which
// libFuzzer does for the other inputs, rarely gets a valid record that far.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/district_register.h"
#include "model/methodology.h"
#include "model/types.h"

namespace wijkpuls::fuzz {

struct EdgeValues {
  std::vector<int64_t> seconds;      // Timestamp seconds worth trying
  std::vector<std::string> strings;  // waves, wijken, items, ids at and over their limits
};

EdgeValues MakeEdgeValues(const Methodology& m, const DistrictRegister& districts, UnixNanos now);

// The input (in record_input.h's format) mutated, or nullopt when it holds no
// record that parses.
std::optional<std::string> MutateStructure(std::string_view input, const EdgeValues& edges,
                                           uint32_t seed);

}  // namespace wijkpuls::fuzz
