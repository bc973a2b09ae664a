// Where the published values go: the compacted output topics (kafka/
// KafkaOutputSink), JSON-lines files (publish/file_sink.h), or anything else
// a consumer of the snapshots needs. Asynchronous like a producer: Send
// queues a value, and its delivery is reported by a later Poll.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "process/outgoing.h"

namespace wijkpuls {

// One published value: a QuotaSnapshot (key "<wave>/<wijk>"), a unit's
// ProvisionalScores (key "<wave>/<level>/<unit>") or a task's summary of a
// wijk (TaskSummary, key "<task>/<wave>/<wijk>"), as protobuf binary.
struct OutputRecord {
  enum class Kind { kQuota, kScores, kSummary };
  Kind kind = Kind::kQuota;
  std::string key;
  std::string value;
};

class OutputSink {
 public:
  virtual ~OutputSink() = default;
  // Queues `record`; its Delivery (with `id`) comes from a later Poll.
  // ResourceExhausted: the queue is full, poll and send again.
  virtual absl::Status Send(const OutputRecord& record, uint64_t id) = 0;
  // The deliveries reported within `timeout`.
  virtual std::vector<Delivery> Poll(std::chrono::milliseconds timeout) = 0;
  // Values sent and not yet reported.
  virtual int64_t Queued() const = 0;
};

}  // namespace wijkpuls
