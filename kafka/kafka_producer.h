// A librdkafka producer (idempotent, acks=all) with delivery reports
// collected for the caller. Thread-compatible: one owner thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kafka/kafka_settings.h"
#include "process/outgoing.h"

namespace wijkpuls {


class KafkaProducer {
 public:
  // `name` becomes client.id suffix and appears in logs.
  static absl::StatusOr<std::unique_ptr<KafkaProducer>> Make(const KafkaSettings& settings,
                                                             const std::string& name);
  ~KafkaProducer();
  KafkaProducer(const KafkaProducer&) = delete;
  KafkaProducer& operator=(const KafkaProducer&) = delete;

  // Queues a record; its Delivery (with `id`) comes from a later Poll. A
  // ResourceExhausted status means the local queue is full: poll and retry.
  absl::Status Produce(const OutgoingRecord& record, uint64_t id);
  // Serves delivery reports for up to `timeout_ms`; returns those received.
  std::vector<Delivery> Poll(int timeout_ms);
  int QueueLength() const;
  // A fatal producer error (idempotence broken): the producer must be replaced.
  bool Fatal(std::string* why) const;
  // Connected to a broker, as of the last statistics (updated by Poll).
  bool Connected() const;
  // Waits up to `timeout_ms` for outstanding records; returns the deliveries.
  std::vector<Delivery> Flush(int timeout_ms);

 private:
  struct Impl;
  explicit KafkaProducer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace wijkpuls
