// The input format of record_fuzz, shared by the target, its seed corpus and
// its mutator. Byte 0 says what the rest is:
//   kSequence clear: the rest is one record value; kJson set: content-type
//                    application/json, else protobuf binary.
//   kSequence set:   the rest is up to kMaxSequence records separated by
//                    kSeparator, each a header byte (kJson, kWithdrawals) and
//                    its value, processed in order into one fresh batch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wijkpuls::fuzz {

inline constexpr uint8_t kJson = 0x01;
inline constexpr uint8_t kSequence = 0x02;     // byte 0 only
inline constexpr uint8_t kWithdrawals = 0x02;  // header byte of a record in a sequence
inline constexpr std::string_view kSeparator = "\xff|wijkpuls|\xff";
inline constexpr size_t kMaxSequence = 8;

// One record of a sequence: its header byte and value. Views into the input.
struct SequencePart {
  uint8_t header = 0;
  std::string_view value;
};

// The records of a sequence (the input without byte 0); empty parts are skipped.
inline std::vector<SequencePart> SplitSequence(std::string_view rest) {
  std::vector<SequencePart> parts;
  while (parts.size() < kMaxSequence) {
    const size_t at = rest.find(kSeparator);
    const std::string_view part = rest.substr(0, at);
    if (!part.empty()) parts.push_back({static_cast<uint8_t>(part[0]), part.substr(1)});
    if (at == std::string_view::npos) break;
    rest.remove_prefix(at + kSeparator.size());
  }
  return parts;
}

// A whole sequence input, byte 0 included.
inline std::string JoinSequence(const std::vector<SequencePart>& parts) {
  std::string out(1, static_cast<char>(kSequence));
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += kSeparator;
    out += static_cast<char>(parts[i].header);
    out += parts[i].value;
  }
  return out;
}

}  // namespace wijkpuls::fuzz
