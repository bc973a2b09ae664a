// Where a simulated season goes: a record file (for `replay`) or Kafka
// topics, as fast as possible or spread over a real-time duration.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "kafka/kafka_settings.h"
#include "sim/simulator.h"

namespace wijkpuls::sim {

absl::Status WriteRecordFile(const std::vector<SimRecord>& records, const std::string& path);

struct ProduceOptions {
  // 0: as fast as possible. Otherwise the fieldwork window is spread over
  // this many seconds of real time.
  double duration_seconds = 0;
  const std::atomic<bool>* stop = nullptr;
  UnixNanos window_start = 0;  // maps to the start of the real-time run
  UnixNanos window_end = 0;
};

// Produces every record to its topic and partition; waits for delivery.
absl::Status ProduceToKafka(const std::vector<SimRecord>& records, const KafkaSettings& kafka,
                            const ProduceOptions& options);

}  // namespace wijkpuls::sim
