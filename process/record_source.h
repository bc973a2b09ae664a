// Where input records come from: a Kafka consumer group, or a replay file.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "process/record_processor.h"
#include "process/state.h"

namespace wijkpuls {

struct TopicPartition {
  std::string topic;
  int32_t partition = 0;
  friend auto operator<=>(const TopicPartition&, const TopicPartition&) = default;
};

// Called from within RecordSource::Poll when partitions move.
class AssignmentHandler {
 public:
  virtual ~AssignmentHandler() = default;
  // Partitions are about to be taken away: commit everything read from them.
  virtual void OnRevoke(const std::vector<TopicPartition>& partitions) = 0;
  // Partitions were given: returns the offsets to start from (the stored ones).
  virtual OffsetMap OnAssign(const std::vector<TopicPartition>& partitions) = 0;
};

struct PartitionProgress {
  TopicPartition tp;
  int64_t low_watermark = 0;    // the first offset still in the partition
  int64_t high_watermark = -1;  // -1: not known yet
  bool at_end = false;
};

class RecordSource {
 public:
  virtual ~RecordSource() = default;
  // The next record, or nullopt after `timeout` (or an event). The record's
  // views stay valid until the next Poll.
  virtual std::optional<SourceRecord> Poll(std::chrono::milliseconds timeout) = 0;
  // Goes back to `offsets` (or the beginning) on every assigned partition:
  // the records read since the last commit will be read again.
  virtual void Rewind(const OffsetMap& offsets) = 0;
  // Tells the source what is committed (Kafka: an informational offset commit).
  virtual void Committed(const OffsetMap& offsets) = 0;
  // Every assigned partition has been read to its end.
  virtual bool AtEnd() const = 0;
  virtual std::vector<PartitionProgress> Progress() const = 0;
  virtual bool Assigned() const = 0;
  // Brokers unreachable (Kafka) as last reported.
  virtual bool Disconnected() const { return false; }
  // Why the source holds back records it has been given (empty: it does
  // not). Kafka: the consumer group has another member, so this instance
  // holds only some of the input partitions (wijkpuls runs as one instance
  // per group, docs/guarantees.md) and consumes nothing until it holds them
  // all; or a partition's log starts after the offset this state has read it
  // to, and that partition is not read.
  virtual std::string HeldBack() const { return ""; }
  // How many partitions the responses topic has (the tasks there are); -1
  // when unknown or not partitioned (a replay file).
  virtual int32_t InputPartitions() const { return -1; }
  virtual void Close() = 0;
};

}  // namespace wijkpuls
