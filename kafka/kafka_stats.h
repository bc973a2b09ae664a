// Reading librdkafka's statistics (statistics.interval.ms): whether a client
// is connected to any real broker. Used for /readyz.
#pragma once

#include <string>

namespace wijkpuls {

// True when any broker with a node id (not a bootstrap placeholder) is UP,
// or when the statistics cannot be read (no false alarm).
bool AnyBrokerUp(const std::string& stats_json);

}  // namespace wijkpuls
