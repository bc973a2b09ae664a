// A seeded, realistic fieldwork season: both instruments, the codebook,
// answers whose distributions differ by wijk, the register's age/sex mix,
// four modes with durations, two rounds with reminder peaks, and a small
// share of every kind of trouble the contract names. Every record carries the
// outcome the simulator meant it to have, so tests can check wijkpuls
// against an independent account.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "model/district_register.h"
#include "model/methodology.h"
#include "model/types.h"

namespace wijkpuls::sim {

// Shares of records (of all response records) per kind of trouble.
struct TroubleMix {
  double redelivered = 0.02;          // the same record produced again later: duplicate
  double second_response = 0.01;      // another response of a counted respondent
  double speeder = 0.03;
  double straightliner = 0.0075;      // (all of them WIJKONDERZOEK: 1.5% of those)
  double high_nonresponse = 0.01;
  double malformed = 0.003;           // DECODE_ERROR
  double unknown_wijk = 0.002;
  double out_of_window = 0.003;
  double withdrawn = 0.003;           // respondents who withdraw
  double missing_field = 0.001;
  double invalid_field = 0.001;
  double unknown_wave = 0.001;
  double no_consent = 0.002;
  double inconsistent_timestamps = 0.001;
  double future_timestamp = 0.0005;
  double invalid_answers = 0.001;
  double oversized = 0.0005;
  double stray_items = 0.01;          // unknown or other-instrument items (counted, harmless)
  double dropped_answer = 0.01;       // one off-scale answer (dropped, counted)
};

struct SimOptions {
  uint64_t seed = 1;
  std::string wave = "2024";
  // Multiplies the register's gross sample; 1.0 gives about 30,000 records.
  double scale = 1.0;
  double json_share = 0.1;  // records sent in the protobuf JSON mapping
  // Their field names: lowerCamelCase as protobuf prints them, or the .proto's
  // own (snake_case), which protobuf's parser takes as well.
  bool json_proto_names = false;
  int response_partitions = 8;
  int withdrawal_partitions = 2;
  std::string responses_topic = "wijkprofiel.responses.v1";
  std::string withdrawals_topic = "wijkprofiel.withdrawals.v1";
  TroubleMix trouble;
  int64_t max_record_bytes = 64 * 1024;  // to make OVERSIZED records just over it
};

// What the simulator meant a record to be.
struct Expected {
  bool withdrawal = false;
  Outcome outcome = Outcome::kAccepted;  // responses
  std::optional<RejectReason> reason;
  FlagSet flags;
  std::string wijk;  // register id, empty when not attributable
  Instrument instrument = Instrument::kVeiligheidsmonitor;
  int cell = 0;
  // The respondent withdraws: whether this response is first counted and
  // then erased, or rejected WITHDRAWN, depends on the order the two topics
  // are read in. Either way it is not counted in the end.
  bool withdrawn_respondent = false;
  // Counted (accepted or flagged) in the final state, after withdrawals.
  bool counted_in_end = false;
};

struct SimRecord {
  std::string topic;
  int32_t partition = 0;
  std::string key;
  std::string value;
  std::string content_type;  // empty: protobuf binary
  UnixNanos event_time = 0;  // when it would be produced (for real-time pacing)
  Expected expected;
  std::string respondent_ref;  // for tests only (e.g. the privacy scan); empty if none
};

// Counts of what the simulator produced, as wijkpuls should see them.
struct SimTruth {
  int64_t records = 0;
  int64_t response_records = 0;
  int64_t withdrawal_records = 0;
  std::map<std::string, int64_t> by_outcome;  // "accepted", ... over response records
  std::map<std::string, int64_t> by_reason;
  std::map<std::string, int64_t> by_flag;
  int64_t withdrawn_respondents = 0;
  int64_t order_dependent_records = 0;  // responses of withdrawn respondents
  // Final counted responses per "<wijk>/<VM|WO>/<cell>": accepted, flagged.
  std::map<std::string, std::pair<int64_t, int64_t>> final_cells;
};

// Generates the season in production order (by event time).
std::vector<SimRecord> Generate(const Methodology& m, const DistrictRegister& districts,
                                const SimOptions& options);
SimTruth Summarise(const std::vector<SimRecord>& records);
std::string TruthJson(const SimTruth& truth);

// The partition of a key: CRC32 of the key modulo the partition count (as
// librdkafka's default partitioner; `simulate` sets it explicitly so that a
// file and a topic hold the same layout). An empty key goes to partition 0.
int32_t PartitionOf(std::string_view key, int partitions);

}  // namespace wijkpuls::sim
