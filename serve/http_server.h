// The one HTTP port: the fieldwork page, the JSON API, /metrics, /healthz
// and /readyz. Runs its own threads; handlers only read committed state.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "ingest/health.h"
#include "serve/api.h"
#include "serve/metrics.h"

namespace wijkpuls {

struct HttpOptions {
  std::string host = "127.0.0.1";
  int port = 8080;               // 0: any free port
  std::string bearer_token;      // empty: the API is open
};

class HttpServer {
 public:
  // Binds the port (errors name the address) and starts serving.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const HttpOptions& options, Api& api,
                                                           Metrics& metrics, const Health& health);
  ~HttpServer();
  int port() const { return port_; }
  void Stop();

 private:
  HttpServer() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

// The pages (serve/page/*.html, embedded at build time): fieldwork at `/`,
// data quality at `/quality`.
const std::string& FieldworkPage();
const std::string& QualityPage();

}  // namespace wijkpuls
