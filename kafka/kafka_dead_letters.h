// Dead letters to the dead-letter topic through an idempotent producer:
// process/dead_letters.h's DeadLetterSink over Kafka.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "kafka/kafka_producer.h"
#include "kafka/kafka_settings.h"
#include "process/dead_letters.h"

namespace wijkpuls {

class KafkaDeadLetters : public DeadLetterSink {
 public:
  static absl::StatusOr<std::unique_ptr<KafkaDeadLetters>> Make(const KafkaSettings& settings);
  void Send(OutgoingRecord record) override;
  uint64_t Mark() const override;
  absl::Status FlushUpTo(std::chrono::milliseconds timeout, uint64_t mark) override;
  size_t Pending() const override;
  void Discard() override;
  uint64_t Failures() const override;
  bool Connected() const override;

 private:
  explicit KafkaDeadLetters(const KafkaSettings& settings) : settings_(settings) {}
  void ProduceWaiting();  // with mu_ held

  const KafkaSettings settings_;
  // Send (the pipeline thread) and a flush (the commit thread) share these.
  mutable std::mutex mu_;
  // Replaced only by a flush; it polls it without mu_.
  std::unique_ptr<KafkaProducer> producer_;
  uint64_t next_id_ = 1;
  struct Letter {
    OutgoingRecord record;
    bool in_flight = false;
    bool failure_counted = false;  // its latest attempt is counted in failures_
    std::chrono::steady_clock::time_point retry_at{};
  };
  std::map<uint64_t, Letter> pending_;
  uint64_t failures_ = 0;
  bool gave_up_ = false;  // the last Flush ran out of time
  std::string last_error_;
};

}  // namespace wijkpuls
