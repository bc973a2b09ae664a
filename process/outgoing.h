// A record to be produced to a topic (a dead letter, an output value), and
// the report of its delivery. Plain values: the sinks that deliver them may be
// Kafka (kafka/) or files.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace wijkpuls {

struct OutgoingRecord {
  std::string topic;
  int32_t partition = -1;  // -1: the partitioner chooses by key
  std::string key;
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;
};

struct Delivery {
  uint64_t id = 0;
  bool ok = false;
  std::string error;  // when not ok
};

}  // namespace wijkpuls
