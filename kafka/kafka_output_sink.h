// The published values to the compacted output topics: publish/'s OutputSink
// over an idempotent producer (quota snapshots, scores and the tasks'
// summaries, each to its topic, keyed, as protobuf binary).
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "kafka/kafka_producer.h"
#include "kafka/kafka_settings.h"
#include "publish/output_sink.h"

namespace wijkpuls {

class KafkaOutputSink : public OutputSink {
 public:
  static absl::StatusOr<std::unique_ptr<KafkaOutputSink>> Make(const KafkaSettings& settings);
  absl::Status Send(const OutputRecord& record, uint64_t id) override;
  std::vector<Delivery> Poll(std::chrono::milliseconds timeout) override;
  int64_t Queued() const override { return producer_->QueueLength(); }

 private:
  KafkaOutputSink(std::unique_ptr<KafkaProducer> producer, std::string quota_topic, std::string scores_topic,
                  std::string summaries_topic)
      : producer_(std::move(producer)),
        quota_topic_(std::move(quota_topic)),
        scores_topic_(std::move(scores_topic)),
        summaries_topic_(std::move(summaries_topic)) {}
  std::unique_ptr<KafkaProducer> producer_;
  std::string quota_topic_;
  std::string scores_topic_;
  std::string summaries_topic_;
};

}  // namespace wijkpuls
