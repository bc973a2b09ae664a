// The configuration file: every error names the file and the key.
#include "app/config.h"

#include <sched.h>

#include <gtest/gtest.h>

#include "app/daemon.h"
#include "model/text.h"

namespace wijkpuls {
namespace {

const char* kGood = R"(kafka:
  brokers: "k1:9092,k2:9092"
  properties: {security.protocol: SASL_SSL}
state:
  dir: state
http:
  listen: "0.0.0.0:9000"
methodology: m.yaml
districts: /etc/wijkpuls/d.csv
pseudonymisation_key_file: key
pipeline: {batch_records: 100, linger_ms: 20, prepare_threads: 0, commit_thread: false}
)";

TEST(Config, ReadsAGoodFileAndResolvesRelativePaths) {
  absl::StatusOr<Config> c = ParseConfig(kGood, "/etc/wijkpuls/wijkpuls.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->kafka.brokers, "k1:9092,k2:9092");
  EXPECT_EQ(c->kafka.properties.at("security.protocol"), "SASL_SSL");
  EXPECT_EQ(c->store.dir, "/etc/wijkpuls/state");
  EXPECT_EQ(c->methodology_path, "/etc/wijkpuls/m.yaml");
  EXPECT_EQ(c->districts_path, "/etc/wijkpuls/d.csv");
  EXPECT_EQ(c->http.host, "0.0.0.0");
  EXPECT_EQ(c->http.port, 9000);
  EXPECT_EQ(c->pipeline.max_batch_records, 100);
  EXPECT_EQ(c->pipeline.prepare_threads, 0);
  EXPECT_FALSE(c->pipeline.commit_thread);
  EXPECT_EQ(c->kafka.topics.responses, "wijkprofiel.responses.v1");
  EXPECT_EQ(c->processor.responses_topic, "wijkprofiel.responses.v1");
}

TEST(Config, ReadsTheHttpSection) {
  std::string text = kGood;
  text.replace(text.find("listen: \"0.0.0.0:9000\""), std::string("listen: \"0.0.0.0:9000\"").size(),
               "listen: \"0.0.0.0:9000\"\n  ops_listen: \"[::1]:9464\"\n  tls_cert_file: tls/c.pem\n"
               "  tls_key_file: tls/k.pem\n  metrics_bearer_token_file: m.token\n"
               "  allowed_hosts: [wijkpuls.example.org, \"10.0.0.5\", \"fe80::1\"]\n  threads: 2\n"
               "  max_connections: 50\n  request_timeout_ms: 3000");
  absl::StatusOr<Config> c = ParseConfig(text, "/etc/wijkpuls/w.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->http.ops_host, "::1");
  EXPECT_EQ(c->http.ops_port, 9464);
  EXPECT_EQ(c->http.tls_cert_file, "/etc/wijkpuls/tls/c.pem");
  EXPECT_EQ(c->http.tls_key_file, "/etc/wijkpuls/tls/k.pem");
  EXPECT_EQ(c->http.metrics_bearer_token_file, "/etc/wijkpuls/m.token");
  EXPECT_EQ(c->http.allowed_hosts, (std::vector<std::string>{"wijkpuls.example.org", "10.0.0.5", "fe80::1"}));
  EXPECT_EQ(c->http.threads, 2);
  EXPECT_EQ(c->http.max_connections, 50);
  EXPECT_EQ(c->http.request_timeout_ms, 3000);
  EXPECT_EQ(c->http.idle_timeout_ms, 5000);  // the default
}

TEST(Config, TheHttpAddressDefaultsToLoopback) {
  std::string text = kGood;
  text.replace(text.find("http:"), text.find("methodology") - text.find("http:"), "");
  absl::StatusOr<Config> c = ParseConfig(text, "w.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->http.host, "127.0.0.1");
}

TEST(Config, ErrorsNameTheFileAndTheKey) {
  struct Case {
    std::string from, to, expect;
  };
  const Case cases[] = {
      {"brokers: \"k1:9092,k2:9092\"", "bokers: x", "w.yaml: kafka.bokers: unknown key"},
      {"brokers: \"k1:9092,k2:9092\"", "brokers: \"\"", "w.yaml: kafka.brokers: must not be empty"},
      {"listen: \"0.0.0.0:9000\"", "listen: \"0.0.0.0\"", "w.yaml: http.listen: must be host:port"},
      {"listen: \"0.0.0.0:9000\"", "listen: \"x:70000\"", "w.yaml: http.listen"},
      {"batch_records: 100", "batch_records: 0", "w.yaml: pipeline.batch_records: must be between 1 and"},
      {"linger_ms: 20", "linger_ms: soon", "w.yaml: pipeline.linger_ms: must be a whole number"},
      {"prepare_threads: 0", "prepare_threads: 9", "w.yaml: pipeline.prepare_threads: must be between 0 and 8"},
      {"methodology: m.yaml\n", "", "w.yaml: methodology: is required"},
      {"security.protocol: SASL_SSL", "enable.auto.commit: \"true\"", "enable.auto.commit is set by wijkpuls"},
      {"pseudonymisation_key_file: key", "pseudonymisation_key_file: key\nlog: {level: loud}", "w.yaml: log.level: must be"},
      {"pseudonymisation_key_file: key", "pseudonymisation_key_file: key\nkafka_extra: 1", "w.yaml: kafka_extra: unknown key"},
      // A key given twice: yaml-cpp answered with the first, so an override
      // appended at the end was ignored without a word.
      {"pseudonymisation_key_file: key", "pseudonymisation_key_file: key\nhttp: {listen: \"127.0.0.1:1\"}", "w.yaml: line 11: http: is given twice"},
      {"  dir: state", "  dir: state\n  dir: other", "w.yaml: line 6: state.dir: is given twice"},
      // A list as a key: yaml-cpp said "bad conversion", naming no key.
      {"  dir: state", "  dir: state\n  [a, b]: 1", "w.yaml: line 6: state: a key must be a plain name, found a list"},
      // librdkafka's own check of each property.
      {"security.protocol: SASL_SSL", "security.protocol: NOPE", "w.yaml: kafka.properties.security.protocol: Invalid value"},
      // HTTP: a certificate needs its key, hosts are names without a port.
      {"listen: \"0.0.0.0:9000\"", "listen: \"0.0.0.0:9000\"\n  tls_cert_file: c.pem", "w.yaml: http.tls_cert_file: needs http.tls_key_file too"},
      {"listen: \"0.0.0.0:9000\"", "listen: \"0.0.0.0:9000\"\n  allowed_hosts: [\"a.example:80\"]", "w.yaml: http.allowed_hosts[0]: must be a host name or address without a port"},
      {"listen: \"0.0.0.0:9000\"", "listen: \"0.0.0.0:9000\"\n  ops_listen: \"9464\"", "w.yaml: http.ops_listen: must be host:port"},
      {"listen: \"0.0.0.0:9000\"", "listen: \"0.0.0.0:9000\"\n  threads: 0", "w.yaml: http.threads: must be between 1 and"},
  };
  for (const Case& c : cases) {
    std::string text = kGood;
    const size_t at = text.find(c.from);
    ASSERT_NE(at, std::string::npos) << c.from;
    text.replace(at, c.from.size(), c.to);
    absl::StatusOr<Config> cfg = ParseConfig(text, "w.yaml");
    ASSERT_FALSE(cfg.ok()) << c.expect;
    EXPECT_TRUE(Contains(MessageOf(cfg.status()), c.expect)) << cfg.status().message() << "\n  expected: " << c.expect;
  }
}

// At 0 a full disk aborted RocksDB mid-write, and every restart on the full
// disk aborted again (issue #18, F5): the floor cannot be turned off.
TEST(Config, TheFreeSpaceFloorCannotBeTurnedOffOrBeBelowOneFlush) {
  auto parse = [](const std::string& state) {
    std::string text = kGood;
    text.replace(text.find("  dir: state"), 12, "  dir: state\n" + state);
    return ParseConfig(text, "w.yaml");
  };
  for (const char* zero : {"  min_free_mb: 0", "  min_free_mb: 63"}) {
    absl::StatusOr<Config> c = parse(zero);
    ASSERT_FALSE(c.ok()) << zero;
    EXPECT_TRUE(Contains(MessageOf(c.status()), "w.yaml: state.min_free_mb: must be at least 64")) << c.status();
  }
  absl::StatusOr<Config> c = parse("  write_buffer_mb: 128\n  min_free_mb: 200");
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(Contains(MessageOf(c.status()), "w.yaml: state.min_free_mb: must be at least twice state.write_buffer_mb (256)"))
      << c.status();
  c = parse("  min_free_mb: 64");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->store.min_free_bytes, 64 << 20);
  c = parse("");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->store.min_free_bytes, 256 << 20);  // the default
  c = parse("  write_buffer_mb: 512");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->store.min_free_bytes, int64_t{1024} << 20);  // the default follows the write buffer
}

// Static group membership: the id is the daemon's default unless set; "" is
// none; an id Kafka would refuse, or group.instance.id among the librdkafka
// properties, is a configuration error.
TEST(Config, TheGroupInstanceIdIsTheDefaultOrSetOrNone) {
  auto parse = [](const std::string& line) {
    std::string text = kGood;
    text.replace(text.find("  properties:"), 0, line);
    return ParseConfig(text, "w.yaml");
  };
  absl::StatusOr<Config> c = parse("");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE(c->kafka.group_instance_id.has_value());  // the daemon's default
  c = parse("  group_instance_id: wijkpuls-a\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->kafka.group_instance_id, "wijkpuls-a");
  c = parse("  group_instance_id: \"\"\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->kafka.group_instance_id, "");
  c = parse("  group_instance_id: \"a b\"\n");
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(Contains(MessageOf(c.status()), "w.yaml: kafka.group_instance_id: must be empty or up to 249 of")) << c.status();
  c = parse("  consumer_properties: {group.instance.id: x}\n");
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(Contains(MessageOf(c.status()), "group.instance.id is set by wijkpuls: use kafka.group_instance_id")) << c.status();
}

TEST(Config, BrokenYamlGivesTheLine) {
  absl::StatusOr<Config> c = ParseConfig("kafka:\n  brokers: [\n", "w.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(Contains(MessageOf(c.status()), "w.yaml: line")) << c.status();
}

// pipeline.threads' default: the cores this process may run on, not the
// machine's (a taskset, a cpuset, a container's CPU limit).
TEST(Config, ThePipelineCountDefaultsToTheCoresTheProcessMayUse) {
  absl::StatusOr<Config> config = ParseConfig(kGood, "/etc/wijkpuls/wijkpuls.yaml");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->pipeline.threads, 0);  // 0: UsableCores() (app/daemon.cc)
  cpu_set_t all;
  ASSERT_EQ(sched_getaffinity(0, sizeof(all), &all), 0);
  EXPECT_GE(UsableCores(), 1);
  EXPECT_LE(UsableCores(), CPU_COUNT(&all));
  cpu_set_t one;
  CPU_ZERO(&one);
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &all)) {
      CPU_SET(c, &one);
      break;
    }
  }
  ASSERT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
  const int cores = UsableCores();
  ASSERT_EQ(sched_setaffinity(0, sizeof(all), &all), 0);
  EXPECT_EQ(cores, 1);
}

}  // namespace
}  // namespace wijkpuls
