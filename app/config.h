// The daemon's configuration file (YAML; config/wijkpuls.yaml is the
// annotated example). Relative paths are resolved against the file's folder.
// Every error names the file, the key and what is wrong.
#pragma once

#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kafka/kafka_settings.h"
#include "process/pipeline.h"
#include "process/record_processor.h"
#include "publish/views.h"
#include "store/state_store.h"

namespace wijkpuls {

struct PublishOptions {
  std::chrono::milliseconds quota_debounce{2000};    // a changed wijk is published at most this often
  std::chrono::milliseconds scores_interval{10000};  // a changed unit's scores at most this often
  std::chrono::milliseconds summary_interval{1000};  // a task's changed summary of a wijk at most this often
};

// The `http` section (serve/http_server.h says what each protects).
struct HttpConfig {
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string bearer_token_file;          // empty: the API is open
  std::string metrics_bearer_token_file;  // empty: /metrics as the API (main listener), open (ops)
  std::string ops_host;                   // ops_listen: /healthz, /readyz, /metrics alone
  int ops_port = -1;                      // -1: no ops listener
  std::string tls_cert_file;              // both or neither: HTTPS on the main listener
  std::string tls_key_file;
  std::vector<std::string> allowed_hosts; // empty: by the listen address
  int threads = 4;
  int max_connections = 256;
  int request_timeout_ms = 10000;
  int idle_timeout_ms = 5000;
  int write_timeout_ms = 10000;
};

struct Config {
  std::string path;
  KafkaSettings kafka;
  StoreOptions store;
  HttpConfig http;
  std::string methodology_path;
  std::string districts_path;
  std::string pseudonymisation_key_file;
  ProcessorOptions processor;
  PipelineOptions pipeline;
  PublishOptions publish;
  std::set<std::string> closed_waves;
  std::string city_name = "Rotterdam";
  std::string log_level = "info";
  std::string log_format = "text";
};

// The least state.min_free_mb allowed: at 0 a full disk aborts RocksDB
// (docs/guarantees.md, 6).
inline constexpr int64_t kMinFreeMbFloor = 64;

// What the published views take from the configuration.
ViewSettings ViewsOf(const Config& config);

// Parses `text` as the config file `path` (paths resolve against its folder).
absl::StatusOr<Config> ParseConfig(std::string_view text, const std::string& path);
absl::StatusOr<Config> LoadConfig(const std::string& path);

// "host:port" -> host, port; false when malformed.
bool ParseListen(const std::string& listen, std::string* host, int* port);

}  // namespace wijkpuls
