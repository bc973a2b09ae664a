// How wijkpuls reaches Kafka: brokers, group, topic names and librdkafka
// properties passed through unchanged (e.g. security.protocol, sasl.*).
#pragma once

#include <map>
#include <string>

namespace wijkpuls {

struct KafkaTopics {
  std::string responses = "wijkprofiel.responses.v1";
  std::string withdrawals = "wijkprofiel.withdrawals.v1";
  std::string rejected = "wijkprofiel.responses.rejected.v1";
  std::string quota = "wijkprofiel.quota.v1";
  std::string scores = "wijkprofiel.scores.provisional.v1";
};

struct KafkaSettings {
  std::string brokers;  // bootstrap.servers
  std::string group_id = "wijkpuls";
  KafkaTopics topics;
  std::map<std::string, std::string> properties;           // consumer and producers
  std::map<std::string, std::string> consumer_properties;  // consumer only
  std::map<std::string, std::string> producer_properties;  // producers only
  int delivery_timeout_ms = 30000;  // message.timeout.ms of the producers
};

// Why librdkafka refuses `value` for the client property `name` (unknown
// property, bad value, out of range), on one line; empty when it takes it.
// Checks the property alone, without creating a client.
std::string KafkaPropertyError(const std::string& name, const std::string& value);

}  // namespace wijkpuls
