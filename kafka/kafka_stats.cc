#include "kafka/kafka_stats.h"

#include "nlohmann/json.hpp"

namespace wijkpuls {

bool AnyBrokerUp(const std::string& stats_json) {
  nlohmann::json stats = nlohmann::json::parse(stats_json, nullptr, /*allow_exceptions=*/false);
  if (stats.is_discarded() || !stats.contains("brokers")) return true;
  for (const auto& [name, broker] : stats["brokers"].items()) {
    if (broker.value("nodeid", -1) >= 0 && broker.value("state", "") == "UP") return true;
  }
  return false;
}

}  // namespace wijkpuls
