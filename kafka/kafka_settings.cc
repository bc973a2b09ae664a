#include "kafka/kafka_settings.h"

#include <librdkafka/rdkafkacpp.h>

#include <memory>

namespace wijkpuls {

std::string KafkaPropertyError(const std::string& name, const std::string& value) {
  std::unique_ptr<RdKafka::Conf> conf(RdKafka::Conf::create(RdKafka::Conf::CONF_GLOBAL));
  std::string err;
  if (conf->set(name, value, err) == RdKafka::Conf::CONF_OK) return "";
  // librdkafka's reasons may span lines ("... outside allowed range\n..."):
  // one line for the operator.
  for (char& c : err) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  while (!err.empty() && err.back() == ' ') err.pop_back();
  return err.empty() ? "not accepted by librdkafka" : err;
}

}  // namespace wijkpuls
