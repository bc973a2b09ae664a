// A Kafka-protocol cluster on loopback TCP from librdkafka's mock cluster
// API, for `wijkpuls demo` and the tests. Clients reach it through its
// bootstrap address like any broker. It keeps about 5 MB and 100,000 records
// per partition: give big topics enough partitions.
#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace wijkpuls {

class MockCluster {
 public:
  static absl::StatusOr<std::unique_ptr<MockCluster>> Start(int brokers);
  ~MockCluster();
  MockCluster(const MockCluster&) = delete;
  MockCluster& operator=(const MockCluster&) = delete;

  const std::string& bootstrap() const { return bootstrap_; }
  absl::Status CreateTopic(const std::string& name, int partitions);
  // Takes every broker down (connections refused) or brings them back.
  absl::Status SetBrokersDown(bool down);
  // The next `count` requests of Kafka API `api_key` (e.g. 0 Produce, 1 Fetch)
  // fail with `error` (a Kafka error code such as 7 REQUEST_TIMED_OUT).
  void PushRequestErrors(int api_key, int count, int error);
  // Forgets errors still queued for `api_key`.
  void ClearRequestErrors(int api_key);
  // Makes broker `broker_id` the partition's leader; -1: no leader (requests
  // for it wait, as with a leader that is down, and report no error).
  absl::Status SetPartitionLeader(const std::string& topic, int partition, int broker_id);
  int broker_count() const { return brokers_; }

 private:
  MockCluster() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string bootstrap_;
  int brokers_ = 0;
};

}  // namespace wijkpuls
