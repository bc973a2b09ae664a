#include "serve/http_server.h"

#include <httplib.h>

#include "ingest/log.h"
#include "nlohmann/json.hpp"
#include "validate/text.h"

namespace wijkpuls {

struct HttpServer::Impl {
  httplib::Server server;
  std::thread thread;
};

namespace {

void Send(const httplib::Request& req, httplib::Response& res, const ApiResponse& r) {
  res.set_header("Cache-Control", "no-cache");
  if (r.status == 200 && !r.etag.empty()) {
    res.set_header("ETag", r.etag);
    if (req.get_header_value("If-None-Match") == r.etag) {
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

}  // namespace

absl::StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpOptions& options, Api& api,
                                                              Metrics& metrics, const Health& health) {
  std::unique_ptr<HttpServer> s(new HttpServer());
  s->impl_ = std::make_unique<Impl>();
  httplib::Server& svr = s->impl_->server;
  const std::string token = options.bearer_token;
  auto authorised = [token](const httplib::Request& req, httplib::Response& res) {
    if (token.empty()) return true;
    if (req.get_header_value("Authorization") == "Bearer " + token) return true;
    res.status = 401;
    res.set_header("WWW-Authenticate", "Bearer");
    res.set_content(R"({"error":"a bearer token is required"})", "application/json");
    return false;
  };

  for (const auto& [path, page] : {std::pair{"/", &FieldworkPage}, std::pair{"/quality", &QualityPage}}) {
    svr.Get(path, [page = page](const httplib::Request&, httplib::Response& res) {
      res.set_header("Cache-Control", "no-store");
      res.set_header("Content-Security-Policy",
                     "default-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'");
      res.set_content(page(), "text/html; charset=utf-8");
    });
  }
  svr.Get("/favicon.ico", [](const httplib::Request&, httplib::Response& res) { res.status = 204; });
  svr.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_header("Cache-Control", "no-store");
    res.set_content(R"({"alive":true})", "application/json");
  });
  svr.Get("/readyz", [&health](const httplib::Request&, httplib::Response& res) {
    std::vector<std::string> problems;
    const bool ready = health.Ready(&problems);
    res.status = ready ? 200 : 503;
    res.set_header("Cache-Control", "no-store");
    res.set_content(nlohmann::json{{"ready", ready}, {"problems", problems}}.dump(), "application/json");
  });
  svr.Get("/metrics", [&metrics](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics.Scrape(), "text/plain; version=0.0.4");
  });
  svr.Get("/api/v1/quotas", [&api, authorised](const httplib::Request& req, httplib::Response& res) {
    if (authorised(req, res)) Send(req, res, api.Quotas(Param(req, "wave")));
  });
  svr.Get(R"(/api/v1/quotas/([a-z0-9-]+))", [&api, authorised](const httplib::Request& req, httplib::Response& res) {
    if (authorised(req, res)) Send(req, res, api.Quota(req.matches[1], Param(req, "wave")));
  });
  svr.Get("/api/v1/scores", [&api, authorised](const httplib::Request& req, httplib::Response& res) {
    if (authorised(req, res)) Send(req, res, api.Scores(Param(req, "wave")));
  });
  svr.Get(R"(/api/v1/scores/([a-z]+)/([a-z0-9-]+))",
          [&api, authorised](const httplib::Request& req, httplib::Response& res) {
            if (authorised(req, res)) Send(req, res, api.Score(req.matches[1], req.matches[2], Param(req, "wave")));
          });
  svr.Get("/api/v1/quality", [&api, authorised](const httplib::Request& req, httplib::Response& res) {
    if (authorised(req, res)) Send(req, res, api.Quality(Param(req, "wave")));
  });
  // Everything served is read-only: another method is 405, saying which are.
  auto not_allowed = [](const httplib::Request& req, httplib::Response& res) {
    res.status = 405;
    res.set_header("Allow", "GET, HEAD");
    res.set_content(nlohmann::json{{"error", Cat(req.method, " is not allowed here: only GET and HEAD")}}.dump(),
                    "application/json");
  };
  svr.Post(".*", not_allowed);
  svr.Put(".*", not_allowed);
  svr.Patch(".*", not_allowed);
  svr.Delete(".*", not_allowed);
  svr.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty()) {
      res.set_content(nlohmann::json{{"error", Cat("HTTP ", res.status)}}.dump(), "application/json");
    }
  });
  svr.set_exception_handler([](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    spdlog::error("http {} {}: {}", req.method, req.path, what);
    res.status = 500;
    res.set_content(R"({"error":"internal error"})", "application/json");
  });

  if (options.port == 0) {
    s->port_ = svr.bind_to_any_port(options.host);
  } else {
    s->port_ = svr.bind_to_port(options.host, options.port) ? options.port : -1;
  }
  if (s->port_ <= 0) {
    return absl::UnavailableError(Cat("http: cannot listen on ", options.host, ":", options.port,
                                      " (in use, or not an address of this machine)"));
  }
  s->impl_->thread = std::thread([&svr] { svr.listen_after_bind(); });
  return s;
}

void HttpServer::Stop() {
  if (!impl_) return;
  impl_->server.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

HttpServer::~HttpServer() { Stop(); }

}  // namespace wijkpuls
