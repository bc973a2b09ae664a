#include "kafka/kafka_output_sink.h"

namespace wijkpuls {

absl::StatusOr<std::unique_ptr<KafkaOutputSink>> KafkaOutputSink::Make(const KafkaSettings& settings) {
  absl::StatusOr<std::unique_ptr<KafkaProducer>> p = KafkaProducer::Make(settings, "outputs");
  if (!p.ok()) return p.status();
  return std::unique_ptr<KafkaOutputSink>(
      new KafkaOutputSink(std::move(*p), settings.topics.quota, settings.topics.scores, settings.topics.summaries));
}

absl::Status KafkaOutputSink::Send(const OutputRecord& record, uint64_t id) {
  const std::string& topic = record.kind == OutputRecord::Kind::kQuota    ? quota_topic_
                             : record.kind == OutputRecord::Kind::kScores ? scores_topic_
                                                                          : summaries_topic_;
  return producer_->Produce(
      OutgoingRecord{topic, -1, record.key, record.value, {{"content-type", "application/x-protobuf"}}}, id);
}

std::vector<Delivery> KafkaOutputSink::Poll(std::chrono::milliseconds timeout) {
  return producer_->Poll(static_cast<int>(timeout.count()));
}

}  // namespace wijkpuls
