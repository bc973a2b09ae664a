#include "serve/http_server.h"

#include <httplib.h>
#include <openssl/crypto.h>

#include <chrono>
#include <mutex>

#include "model/digest.h"
#include "model/log.h"
#include "nlohmann/json.hpp"
#include "model/text.h"
#include "serve/openapi.h"

namespace wijkpuls {
namespace {

using nlohmann::json;

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string ErrorJson(std::string_view message) {
  return json{{"error", message}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

// One request as the connection layer framed it, and the response written
// back into a string.
class MemoryStream final : public httplib::Stream {
 public:
  MemoryStream(std::string_view request, std::string& response, const http::Peer& peer)
      : request_(request), response_(response), peer_(peer) {}
  bool is_readable() const override { return pos_ < request_.size(); }
  bool is_writable() const override { return true; }
  ssize_t read(char* ptr, size_t size) override {
    const size_t n = std::min(size, request_.size() - pos_);
    std::memcpy(ptr, request_.data() + pos_, n);
    pos_ += n;
    return static_cast<ssize_t>(n);
  }
  ssize_t write(const char* ptr, size_t size) override {
    response_.append(ptr, size);
    return static_cast<ssize_t>(size);
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = peer_.ip;
    port = peer_.port;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = peer_.local_ip;
    port = peer_.local_port;
  }
  socket_t socket() const override { return INVALID_SOCKET; }

 private:
  std::string_view request_;
  size_t pos_ = 0;
  std::string& response_;
  const http::Peer& peer_;
};

// cpp-httplib's parsing and routing, fed by the connection layer.
class Router final : public httplib::Server, public http::RequestHandler {
 public:
  void Handle(std::string_view request, const http::Peer& peer, bool last, std::string& response,
              bool& close) override {
    MemoryStream stream(request, response, peer);
    bool closed = false;
    const bool ok = process_request(stream, last, closed, nullptr);
    close = last || closed || !ok;
  }
};

// At most one log line per 10 s for what a client can cause at will.
class RateLimitedLog {
 public:
  void Error(std::string_view what) {
    std::lock_guard<std::mutex> lock(mu_);
    const auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::seconds(10)) {
      ++suppressed_;
      return;
    }
    last_ = now;
    if (suppressed_ > 0) {
      spdlog::error("http: {} (and {} more since the last such line)", what, suppressed_);
    } else {
      spdlog::error("http: {}", what);
    }
    suppressed_ = 0;
  }

 private:
  std::mutex mu_;
  std::chrono::steady_clock::time_point last_{};
  uint64_t suppressed_ = 0;
};

void Send(const httplib::Request& req, httplib::Response& res, const ApiResponse& r) {
  res.set_header("Cache-Control", "no-cache");
  if (r.status == 200 && !r.input_offsets.empty()) res.set_header("Wijkpuls-Input-Offsets", r.input_offsets);
  if (r.status == 200 && !r.etag.empty()) {
    res.set_header("ETag", r.etag);
    std::string if_none_match;
    const size_t n = req.get_header_value_count("If-None-Match");
    for (size_t i = 0; i < n; ++i) {
      if_none_match += (i ? "," : "") + req.get_header_value("If-None-Match", i);
    }
    if (n > 0 && IfNoneMatchHits(if_none_match, r.etag)) {
      res.status = 304;
      return;
    }
  }
  res.status = r.status;
  res.set_content(r.body, r.content_type.c_str());
}

std::string Param(const httplib::Request& req, const char* name) {
  return req.has_param(name) ? req.get_param_value(name) : std::string();
}

void Refuse(httplib::Response& res, int status, std::string_view message) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(ErrorJson(message), "application/json");
}

bool IsLoopback(std::string_view host) {
  return host == "localhost" || host == "::1" || StartsWith(host, "127.");
}

}  // namespace

BearerToken::BearerToken(std::string_view secret) : set_(!secret.empty()), digest_(Sha256(secret)) {}

bool BearerToken::Matches(std::string_view authorization) const {
  if (!set_) return true;
  const size_t space = authorization.find(' ');
  if (space == std::string_view::npos || !IEquals(authorization.substr(0, space), "Bearer"))
    return false;
  std::string_view token = authorization.substr(space);
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
  if (token.empty()) return false;
  // Digests compared in constant time: how long a refusal takes tells
  // nothing of how much of the token was right.
  const Digest256 presented = Sha256(token);
  return CRYPTO_memcmp(presented.data(), digest_.data(), digest_.size()) == 0;
}

std::vector<std::string> DefaultAllowedHosts(const std::string& listen_host) {
  if (!IsLoopback(listen_host)) return {"*"};
  std::vector<std::string> out = {"localhost", "127.0.0.1", "::1"};
  if (listen_host != "localhost" && listen_host != "127.0.0.1" && listen_host != "::1")
    out.push_back(listen_host);
  return out;
}

bool HostAllowed(std::string_view host_header, const std::vector<std::string>& allowed) {
  std::string_view name = host_header;
  if (StartsWith(name, "[")) {
    const size_t close = name.find(']');
    if (close == std::string_view::npos) return false;
    const std::string_view rest = name.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return false;
    name = name.substr(1, close - 1);
  } else if (const size_t colon = name.find(':'); colon != std::string_view::npos) {
    name = name.substr(0, colon);
  }
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);  // "localhost."
  for (const std::string& a : allowed) {
    if (a == "*") return true;
    if (!name.empty() && IEquals(name, a)) return true;
  }
  return false;
}

struct HttpServer::Impl {
  HttpOptions options;
  Router main;
  std::optional<Router> ops;
  RateLimitedLog errors;
  std::unique_ptr<http::ConnectionServer> connections;
};

namespace {

void Configure(Router& r, const HttpOptions& o, std::vector<std::string> allowed,
               RateLimitedLog& errors) {
  r.set_keep_alive_timeout(std::max<time_t>(
      1, std::chrono::duration_cast<std::chrono::seconds>(o.limits.idle_timeout).count()));
  r.set_keep_alive_max_count(static_cast<size_t>(o.limits.max_requests_per_connection));
  r.set_payload_max_length(http::kMaxBodyBytes);  // framed before: a belt to the braces
  r.set_default_headers(
      {{"X-Content-Type-Options", "nosniff"}, {"Referrer-Policy", "no-referrer"}});
  r.set_pre_routing_handler([allowed = std::move(allowed)](const httplib::Request& req,
                                                           httplib::Response& res) {
    const std::string host = req.get_header_value("Host");
    if (!HostAllowed(host, allowed)) {
      Refuse(
          res, 400,
          Cat("this server does not answer to the host ", Quoted(host), " (http.allowed_hosts)"));
      return httplib::Server::HandlerResponse::Handled;
    }
    if (req.method != "GET" && req.method != "HEAD") {
      // cpp-httplib takes only the methods of RFC 9110 (and PRI): safe to echo.
      Refuse(res, 405, Cat(req.method, " is not allowed here: only GET and HEAD"));
      res.set_header("Allow", "GET, HEAD");
      return httplib::Server::HandlerResponse::Handled;
    }
    // Everything a client sends may be echoed in JSON: it must be text.
    auto invalid = [&](const std::string& s) { return FirstInvalidUtf8(s) != std::string::npos; };
    bool bad = invalid(req.path);
    for (const auto& [k, v] : req.params) bad = bad || invalid(k) || invalid(v);
    if (bad) {
      Refuse(res, 400, Cat("the path or query of ", Quoted(req.target), " is not UTF-8"));
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  r.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty()) res.set_content(ErrorJson(Cat("HTTP ", res.status)), "application/json");
  });
  r.set_exception_handler(
      [&errors](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        errors.Error(Cat(req.method, " ", Quoted(req.path), ": ", Quoted(what)));
        Refuse(res, 500, "internal error");
      });
}

void AddProbes(Router& r, Metrics& metrics, const Health& health, BearerToken metrics_token) {
  r.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_header("Cache-Control", "no-store");
    res.set_content(R"({"alive":true})", "application/json");
  });
  r.Get("/readyz", [&health](const httplib::Request&, httplib::Response& res) {
    std::vector<std::string> problems;
    const bool ready = health.Ready(&problems);
    res.status = ready ? 200 : 503;
    res.set_header("Cache-Control", "no-store");
    res.set_content(json{{"ready", ready}, {"problems", problems}}.dump(
                        -1, ' ', false, json::error_handler_t::replace),
                    "application/json");
  });
  r.Get("/metrics", [&metrics, metrics_token](const httplib::Request& req, httplib::Response& res) {
    if (!metrics_token.Matches(req.get_header_value("Authorization"))) {
      Refuse(res, 401, "a bearer token is required for /metrics");
      res.set_header("WWW-Authenticate", "Bearer");
      return;
    }
    res.set_header("Cache-Control", "no-store");
    res.set_content(metrics.Scrape(), "text/plain; version=0.0.4");
  });
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpOptions& options, Api& api,
                                                              Metrics& metrics,
                                                              const Health& health) {
  std::unique_ptr<HttpServer> s(new HttpServer());
  s->impl_ = std::make_unique<Impl>();
  Impl& impl = *s->impl_;
  impl.options = options;
  const BearerToken api_token(options.bearer_token);
  const BearerToken metrics_token(options.metrics_bearer_token);
  auto allowed = [&](const std::string& host) {
    return options.allowed_hosts.empty() ? DefaultAllowedHosts(host) : options.allowed_hosts;
  };

  Router& svr = impl.main;
  Configure(svr, options, allowed(options.host), impl.errors);
  auto authorised = [api_token](const httplib::Request& req, httplib::Response& res) {
    if (api_token.Matches(req.get_header_value("Authorization"))) return true;
    Refuse(res, 401, "a bearer token is required");
    res.set_header("WWW-Authenticate", "Bearer");
    return false;
  };
  for (const auto& [path, page] :
       {std::pair{"/", &FieldworkPage}, std::pair{"/quality", &QualityPage}, std::pair{"/scores", &ScoresPage}}) {
    svr.Get(path, [page = page](const httplib::Request&, httplib::Response& res) {
      res.set_header("Cache-Control", "no-store");
      res.set_header("Content-Security-Policy",
                     "default-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
                     "frame-ancestors 'none'");
      res.set_content(page(), "text/html; charset=utf-8");
    });
  }
  svr.Get("/favicon.ico",
          [](const httplib::Request&, httplib::Response& res) { res.status = 204; });
  // On the main listener /metrics carries the API's fieldwork figures: the
  // API's token protects it unless it has its own.
  AddProbes(svr, metrics, health, options.metrics_bearer_token.empty() ? api_token : metrics_token);
  svr.Get("/api/v1/quotas",
          [&api, authorised](const httplib::Request& req, httplib::Response& res) {
            if (authorised(req, res)) Send(req, res, api.Quotas(Param(req, "wave")));
          });
  svr.Get(R"(/api/v1/quotas/([a-z0-9-]+))",
          [&api, authorised](const httplib::Request& req, httplib::Response& res) {
            if (authorised(req, res)) Send(req, res, api.Quota(req.matches[1], Param(req, "wave")));
          });
  svr.Get("/api/v1/scores",
          [&api, authorised](const httplib::Request& req, httplib::Response& res) {
            if (authorised(req, res)) Send(req, res, api.Scores(Param(req, "wave")));
          });
  svr.Get(R"(/api/v1/scores/([a-z]+)/([a-z0-9-]+))",
          [&api, authorised](const httplib::Request& req, httplib::Response& res) {
            if (authorised(req, res))
              Send(req, res, api.Score(req.matches[1], req.matches[2], Param(req, "wave")));
          });
  svr.Get(R"(/api/v1/pace/([a-z]+)/([a-z0-9-]+))",
          [&api, authorised](const httplib::Request& req, httplib::Response& res) {
            if (authorised(req, res))
              Send(req, res, api.Pace(req.matches[1], req.matches[2], Param(req, "wave")));
          });
  svr.Get("/api/v1/openapi.json", [authorised](const httplib::Request& req, httplib::Response& res) {
    if (!authorised(req, res)) return;
    res.set_header("Cache-Control", "no-cache");
    res.set_content(OpenApiDocument(), "application/json");
  });
  svr.Get("/api/v1/quality",
          [&api, authorised](const httplib::Request& req, httplib::Response& res) {
            if (authorised(req, res)) Send(req, res, api.Quality(Param(req, "wave")));
          });

  std::shared_ptr<http::TlsContext> tls;
  if (!options.tls_cert_file.empty() || !options.tls_key_file.empty()) {
    absl::StatusOr<std::shared_ptr<http::TlsContext>> t =
        http::LoadTls(options.tls_cert_file, options.tls_key_file);
    if (!t.ok()) return t.status();
    tls = std::move(*t);
  }
  std::vector<http::ListenerOptions> listeners;
  listeners.push_back(http::ListenerOptions{"http", options.host, options.port,
                                            options.max_connections, tls, &svr});
  if (options.ops_port >= 0) {
    impl.ops.emplace();
    Configure(*impl.ops, options, allowed(options.ops_host), impl.errors);
    AddProbes(*impl.ops, metrics, health, metrics_token);
    listeners.push_back(http::ListenerOptions{"ops", options.ops_host, options.ops_port,
                                              kOpsMaxConnections, nullptr, &*impl.ops});
  }
  absl::StatusOr<std::unique_ptr<http::ConnectionServer>> c =
      http::ConnectionServer::Start(std::move(listeners), options.limits, options.threads);
  if (!c.ok()) return absl::Status(c.status().code(), Cat("http: ", c.status().message()));
  impl.connections = std::move(*c);
  s->port_ = impl.connections->port(0);
  if (impl.ops) s->ops_port_ = impl.connections->port(1);
  return s;
}

absl::Status HttpServer::ReloadTls() {
  if (!impl_ || !impl_->connections) return absl::OkStatus();
  const HttpOptions& o = impl_->options;
  if (o.tls_cert_file.empty()) return absl::OkStatus();
  absl::StatusOr<std::shared_ptr<http::TlsContext>> t =
      http::LoadTls(o.tls_cert_file, o.tls_key_file);
  if (!t.ok()) return t.status();
  impl_->connections->SetTls(0, std::move(*t));
  return absl::OkStatus();
}

const http::ConnectionCounters* HttpServer::counters() const {
  return impl_ && impl_->connections ? &impl_->connections->counters() : nullptr;
}

void HttpServer::Stop() {
  if (!impl_) return;
  if (impl_->connections) impl_->connections->Stop();
  impl_->connections.reset();
}

HttpServer::~HttpServer() { Stop(); }

}  // namespace wijkpuls
