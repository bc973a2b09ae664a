// The input side: a librdkafka consumer in a consumer group reading the
// responses and withdrawals topics, positioned at the offsets stored with the
// state (never at the group's committed offsets, which are informational).
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "kafka/kafka_settings.h"
#include "process/record_source.h"

namespace wijkpuls {

class KafkaSource : public RecordSource {
 public:
  // `handler` must outlive the source; it is called from Poll.
  static absl::StatusOr<std::unique_ptr<KafkaSource>> Make(const KafkaSettings& settings,
                                                           AssignmentHandler* handler);
  ~KafkaSource() override;

  std::optional<SourceRecord> Poll(std::chrono::milliseconds timeout) override;
  void Rewind(const OffsetMap& offsets) override;
  void Committed(const OffsetMap& offsets) override;
  bool AtEnd() const override;
  std::vector<PartitionProgress> Progress() const override;
  bool Assigned() const override;
  bool Disconnected() const override;
  std::string HeldBack() const override;
  int32_t InputPartitions() const override;
  void Close() override;

 private:
  struct Impl;
  explicit KafkaSource(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace wijkpuls
