// The HTTP listeners: the page, the JSON API, /metrics, /healthz and /readyz
// on `http.listen`, and optionally /healthz, /readyz and /metrics alone on a
// second listener for probes and Prometheus (`http.ops_listen`), so that
// neither competes with the other's clients. Connections are handled by
// serve/http_connections (no thread per connection); handlers only read
// committed state.
//
// Protection: a bearer token on /api/ (`http.bearer_token_file`); /metrics
// needs `http.metrics_bearer_token_file` when it is set, else on the main
// listener the API's token (the same fieldwork figures), and on the ops
// listener nothing. TLS with `http.tls_cert_file`/`http.tls_key_file` on the
// main listener. The Host header must name this server (DNS rebinding).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "model/digest.h"
#include "process/health.h"
#include "serve/api.h"
#include "serve/http_connections.h"
#include "serve/metrics.h"

namespace wijkpuls {

struct HttpOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                   // 0: any free port
  std::string bearer_token;          // empty: the API is open
  std::string metrics_bearer_token;  // empty: see above
  std::string ops_host;              // the ops listener, when ops_port >= 0
  int ops_port = -1;
  std::string tls_cert_file;  // both or neither
  std::string tls_key_file;
  std::vector<std::string> allowed_hosts;  // empty: DefaultAllowedHosts(host); "*": any
  int threads = 4;
  int max_connections = 256;  // the main listener's; the ops listener takes kOpsMaxConnections
  http::Limits limits;
};

inline constexpr int kOpsMaxConnections = 64;

// A bearer token, kept as its SHA-256: a presented token is compared in
// constant time, whatever its length.
class BearerToken {
 public:
  BearerToken() = default;
  explicit BearerToken(std::string_view secret);
  bool empty() const { return !set_; }
  // `authorization`: the header's value. The scheme is case-insensitive
  // (RFC 9110 11.1); one or more spaces may follow it.
  bool Matches(std::string_view authorization) const;

 private:
  bool set_ = false;
  Digest256 digest_{};  // of the secret
};

// The Host names a listener answers to when none are configured: on a
// loopback address, the loopback names (a page elsewhere cannot read it
// through a name that resolves to 127.0.0.1: DNS rebinding); elsewhere any.
std::vector<std::string> DefaultAllowedHosts(const std::string& listen_host);
// Whether a Host header's value ("name", "name:port", "[v6]:port") is one of
// `allowed` (names or addresses without a port, case-insensitive; "*": any).
bool HostAllowed(std::string_view host_header, const std::vector<std::string>& allowed);

class HttpServer {
 public:
  // Binds the listeners (errors name the address) and starts serving.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(const HttpOptions& options, Api& api,
                                                           Metrics& metrics, const Health& health);
  ~HttpServer();
  int port() const { return port_; }
  int ops_port() const { return ops_port_; }  // -1: no ops listener
  // Reads the TLS certificate and key again (SIGHUP); on an error the old
  // ones stay.
  absl::Status ReloadTls();
  const http::ConnectionCounters* counters() const;
  void Stop();

 private:
  HttpServer() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
  int ops_port_ = -1;
};

// The pages (serve/page/*.html, embedded at build time): fieldwork at `/`,
// data quality at `/quality`.
const std::string& FieldworkPage();
const std::string& QualityPage();
const std::string& ScoresPage();

}  // namespace wijkpuls
