// The HTTP server as a client on an open network meets it: bodies it does not
// read, clients that never finish, idle and slow connections by the hundred,
// TLS, tokens, Host names, and bytes that are not text.
#include "serve/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "nlohmann/json.hpp"
#include "tests/support/test_support.h"
#include "model/text.h"

namespace wijkpuls {
namespace {

using namespace std::chrono_literals;
using http::FrameRequest;
using http::Framing;

// --- the framing of requests (pure) ---

TEST(FrameRequest, AWholeRequestIsCompleteAndAPartOneIsNot) {
  const std::string get = "GET /api/v1/quotas HTTP/1.1\r\nHost: x\r\n\r\n";
  EXPECT_EQ(FrameRequest(get.substr(0, 20)).kind, Framing::kIncomplete);
  const Framing f = FrameRequest(get + "GET /next");  // a pipelined next request stays
  ASSERT_EQ(f.kind, Framing::kComplete);
  EXPECT_EQ(f.length, get.size());
  EXPECT_FALSE(f.priority);
}

TEST(FrameRequest, ABodyIsWaitedForWhenSmallAndRefusedUnreadWhenLarge) {
  const std::string head = "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n";
  EXPECT_EQ(FrameRequest(head + "abc").kind, Framing::kIncomplete);
  EXPECT_EQ(FrameRequest(head + "abcde").length, head.size() + 5);
  // 256 MB announced: refused on the head alone.
  const Framing big = FrameRequest("GET / HTTP/1.1\r\ncontent-length: 268435456\r\n\r\n");
  EXPECT_EQ(big.kind, Framing::kError);
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(FrameRequest("GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n").status, 411);
  EXPECT_EQ(
      FrameRequest("GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab").status,
      400);
  EXPECT_EQ(FrameRequest("GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n").status, 400);
  EXPECT_EQ(FrameRequest("GET / HTTP/1.1\r\nContent-Length : 1\r\n\r\na").status, 400);
}

TEST(FrameRequest, AHeadLargerThanTheLimitIsRefusedWithoutWaitingForItsEnd) {
  std::string head = "GET / HTTP/1.1\r\n";
  while (head.size() <= http::kMaxHeadBytes)
    head += "X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
  EXPECT_EQ(FrameRequest(head).status, 431);  // no blank line yet
  EXPECT_EQ(FrameRequest(head + "\r\n").status, 431);
}

TEST(FrameRequest, ProbesArePriority) {
  EXPECT_TRUE(FrameRequest("GET /healthz HTTP/1.1\r\n\r\n").priority);
  EXPECT_TRUE(FrameRequest("HEAD /readyz?verbose=1 HTTP/1.1\r\n\r\n").priority);
  EXPECT_FALSE(FrameRequest("GET /healthzz HTTP/1.1\r\n\r\n").priority);
  EXPECT_FALSE(FrameRequest("POST /healthz HTTP/1.1\r\n\r\n").priority);
}

// --- tokens and Host names (pure) ---

TEST(BearerToken, TheSchemeIsCaseInsensitiveAndOnlyTheTokenItselfMatches) {
  const BearerToken t("s3cret-s3cret-s3cret");
  EXPECT_TRUE(t.Matches("Bearer s3cret-s3cret-s3cret"));
  EXPECT_TRUE(t.Matches("bearer s3cret-s3cret-s3cret"));  // RFC 9110 11.1
  EXPECT_TRUE(t.Matches("BEARER   s3cret-s3cret-s3cret "));
  EXPECT_FALSE(t.Matches("Bearer s3cret-s3cret-s3cre"));
  EXPECT_FALSE(t.Matches("Bearer s3cret-s3cret-s3cretX"));
  EXPECT_FALSE(t.Matches("Basic s3cret-s3cret-s3cret"));
  EXPECT_FALSE(t.Matches("Bearers3cret-s3cret-s3cret"));
  EXPECT_FALSE(t.Matches("Bearer "));
  EXPECT_FALSE(t.Matches(""));
  EXPECT_TRUE(BearerToken("").Matches(""));  // no token: open
}

TEST(HostAllowed, ALoopbackListenerAnswersToLoopbackNamesOnly) {
  const std::vector<std::string> loop = DefaultAllowedHosts("127.0.0.1");
  EXPECT_TRUE(HostAllowed("127.0.0.1:8080", loop));
  EXPECT_TRUE(HostAllowed("localhost:8080", loop));
  EXPECT_TRUE(HostAllowed("LOCALHOST.", loop));
  EXPECT_TRUE(HostAllowed("[::1]:8080", loop));
  EXPECT_FALSE(HostAllowed("evil.example:8080", loop));  // DNS rebinding
  EXPECT_FALSE(HostAllowed("localhost.evil.example", loop));
  EXPECT_FALSE(HostAllowed("", loop));
  EXPECT_FALSE(HostAllowed("[::1", loop));
  EXPECT_EQ(DefaultAllowedHosts("0.0.0.0"), std::vector<std::string>{"*"});
  EXPECT_TRUE(HostAllowed("anything", {"*"}));
  EXPECT_TRUE(HostAllowed("Wijkpuls.Example.org:443", {"wijkpuls.example.org"}));
  EXPECT_TRUE(HostAllowed("[fe80::1]:80", {"fe80::1"}));
}

// --- the server ---

std::shared_ptr<CommittedState> EmptyState() {
  auto cs = std::make_shared<CommittedState>();
  cs->version = 1;
  cs->methodology = std::make_shared<const Methodology>(testing::DefaultMethodology());
  cs->districts = std::make_shared<const DistrictRegister>(testing::DefaultDistricts());
  return cs;
}

// A socket to the server, read and written by hand.
class RawClient {
 public:
  explicit RawClient(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  }
  ~RawClient() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;
  bool connected() const { return connected_; }
  bool Send(std::string_view s) {
    return ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size());
  }
  // Reads until `done(received)` holds, the peer closes, or `timeout`.
  std::string ReadUntil(const std::function<bool(const std::string&)>& done,
                        std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (!done(in_) && !closed_) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          end - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char buf[65536];
      const ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) {
        closed_ = true;
        break;
      }
      in_.append(buf, static_cast<size_t>(n));
    }
    return in_;
  }
  std::string ReadToClose(std::chrono::milliseconds timeout) {
    return ReadUntil([](const std::string&) { return false; }, timeout);
  }
  bool closed() const { return closed_; }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool closed_ = false;
  std::string in_;
};

bool HasWholeResponse(const std::string& s) { return s.find("\r\n\r\n") != std::string::npos; }

class Server {
 public:
  explicit Server(HttpOptions options = {}) : api_(hub_, ApiOptions{}), metrics_("test") {
    hub_.Publish(EmptyState());
    options.port = 0;
    if (options.ops_port >= 0) options.ops_port = 0;
    absl::StatusOr<std::unique_ptr<HttpServer>> s =
        HttpServer::Start(options, api_, metrics_, health_);
    EXPECT_TRUE(s.ok()) << s.status();
    if (s.ok()) server_ = std::move(*s);
  }
  int port() const { return server_->port(); }
  int ops_port() const { return server_->ops_port(); }
  HttpServer& server() { return *server_; }
  Metrics& metrics() { return metrics_; }

  // A GET with a client that gives up after `timeout`.
  httplib::Result Get(const std::string& path, httplib::Headers headers = {},
                      std::chrono::milliseconds timeout = 5s, int port = -1) {
    httplib::Client c("127.0.0.1", port < 0 ? this->port() : port);
    c.set_connection_timeout(timeout);
    c.set_read_timeout(timeout);
    c.set_write_timeout(timeout);
    return c.Get(path, headers);
  }

 private:
  StateHub hub_;
  Api api_;
  Metrics metrics_;
  Health health_;
  std::unique_ptr<HttpServer> server_;
};

// The API's ETag through the server: a weak tag, a list, and the tag in the
// second of two If-None-Match fields all get 304; another tag gets 200.
TEST(HttpServer, IfNoneMatchIsReadAsRfc9110SaysAcrossFields) {
  Server s;
  httplib::Result first = s.Get("/api/v1/quotas");
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 200);
  const std::string etag = first->get_header_value("ETag");
  ASSERT_FALSE(etag.empty());
  auto status = [&](const httplib::Headers& h) {
    httplib::Result r = s.Get("/api/v1/quotas", h);
    return r ? r->status : -1;
  };
  EXPECT_EQ(status({{"If-None-Match", etag}}), 304);
  EXPECT_EQ(status({{"If-None-Match", "W/" + etag}}), 304);
  EXPECT_EQ(status({{"If-None-Match", "\"other\", " + etag}}), 304);
  EXPECT_EQ(status({{"If-None-Match", "\"other\""}, {"If-None-Match", etag}}), 304);
  EXPECT_EQ(status({{"If-None-Match", "\"other\""}}), 200);
}

TEST(HttpServer, ABodyOfAQuarterGigabyteIsRefusedOnItsHeadWithoutBeingRead) {
  Server s;
  RawClient c(s.port());
  ASSERT_TRUE(c.connected());
  // Before: the server read the whole body before any handler (or the token
  // check) ran; four such requests took it past 1 GB.
  ASSERT_TRUE(c.Send(
      "GET /api/v1/quotas HTTP/1.1\r\nHost: localhost\r\nContent-Length: 268435456\r\n\r\n"));
  ASSERT_TRUE(c.Send(std::string(64 * 1024, 'x')));
  const std::string r = c.ReadUntil(HasWholeResponse, 5s);
  EXPECT_TRUE(StartsWith(r, "HTTP/1.1 413 ")) << r.substr(0, 200);
  EXPECT_TRUE(Contains(r, "X-Content-Type-Options: nosniff")) << r;
  c.ReadToClose(5s);
  EXPECT_TRUE(c.closed());
  EXPECT_GE(s.server().counters()->too_large.load(), 1u);
}

TEST(HttpServer, TheConnectionLayersRefusalsAreInTheMetrics) {
  Server s;
  MetricSources sources;
  sources.http_stats = [&s] {
    const http::ConnectionCounters& c = *s.server().counters();
    HttpStats h;
    h.open = c.open.load();
    h.accepted = c.accepted.load();
    h.too_large = c.too_large.load();
    return h;
  };
  s.metrics().SetSources(sources);
  RawClient c(s.port());
  ASSERT_TRUE(c.Send("GET / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 99999\r\n\r\n"));
  ASSERT_TRUE(StartsWith(c.ReadUntil(HasWholeResponse, 5s), "HTTP/1.1 413 "));
  httplib::Result m = s.Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_TRUE(Contains(m->body, "wijkpuls_http_refused_total{reason=\"too_large\"} 1\n")) << m->body;
  EXPECT_TRUE(Contains(m->body, "wijkpuls_http_refused_total{reason=\"connections\"} 0\n")) << m->body;
  EXPECT_TRUE(Contains(m->body, "wijkpuls_http_connections_accepted_total 2\n")) << m->body;
}

TEST(HttpServer, ChunkedBodiesAndEndlessHeadsAreRefused) {
  Server s;
  {
    RawClient c(s.port());
    ASSERT_TRUE(c.Send(
        "GET / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n10000000\r\n"));
    EXPECT_TRUE(StartsWith(c.ReadUntil(HasWholeResponse, 5s), "HTTP/1.1 411 "));
  }
  {
    RawClient c(s.port());
    ASSERT_TRUE(c.Send("GET / HTTP/1.1\r\nHost: localhost\r\n"));
    std::string header = "X-A: " + std::string(1000, 'a') + "\r\n";
    for (int i = 0; i < 20; ++i) c.Send(header);  // 20 KB of headers and no end
    EXPECT_TRUE(StartsWith(c.ReadUntil(HasWholeResponse, 5s), "HTTP/1.1 431 "));
  }
}

TEST(HttpServer, SlowAndIdleClientsDoNotDelayHealthzOrTheApi) {
  HttpOptions o;
  o.threads = 2;
  o.max_connections = 1000;
  o.limits.request_timeout = 60s;  // the slow clients stay for the whole test
  o.limits.idle_timeout = 60s;
  Server s(o);
  ASSERT_EQ(s.Get("/api/v1/scores")->status, 200);  // computed once; the rest are copies
  // Before: 8 slow clients (cpp-httplib's 8 workers, one per connection)
  // blocked /healthz for over 60 s, and 200 idle connections did too.
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < 200; ++i) clients.push_back(std::make_unique<RawClient>(s.port()));  // idle
  for (int i = 0; i < 40; ++i) {
    auto c = std::make_unique<RawClient>(s.port());
    c->Send("GET /api/v1/quotas HTTP/1.1\r\nHo");  // slow: the rest never comes
    clients.push_back(std::move(c));
  }
  for (int i = 0; i < 10; ++i) {  // readers that never read: 8 scores documents of 0.6 MB each fill the socket
    auto c = std::make_unique<RawClient>(s.port());
    for (int k = 0; k < 8; ++k) c->Send("GET /api/v1/scores HTTP/1.1\r\nHost: localhost\r\n\r\n");
    clients.push_back(std::move(c));
  }
  for (auto& c : clients) ASSERT_TRUE(c->connected());
  for (int round = 0; round < 10; ++round) {
    // Each within 1 s, or the client gives up.
    httplib::Result h = s.Get("/healthz", {}, 1s);
    ASSERT_TRUE(h) << "round " << round << ": " << httplib::to_string(h.error());
    EXPECT_EQ(h->status, 200);
    EXPECT_EQ(h->body, R"({"alive":true})");
    // The API waits only for the work queued before it (the scores above).
    httplib::Result q = s.Get("/api/v1/quotas/carnisse", {}, 5s);
    ASSERT_TRUE(q) << "round " << round << ": " << httplib::to_string(q.error());
    EXPECT_EQ(q->status, 200);
    std::this_thread::sleep_for(20ms);  // let the slow clients trickle
    for (int i = 200; i < 240; ++i) clients[static_cast<size_t>(i)]->Send("s");
  }
  EXPECT_GE(s.server().counters()->open.load(), 250);
}

TEST(HttpServer, ARequestThatNeverEndsGets408AndAnIdleConnectionIsClosed) {
  HttpOptions o;
  o.limits.request_timeout = 300ms;
  o.limits.idle_timeout = 200ms;
  Server s(o);
  RawClient slow(s.port());
  ASSERT_TRUE(slow.Send("GET /healthz HTTP/1.1\r\nHo"));
  EXPECT_TRUE(StartsWith(slow.ReadUntil(HasWholeResponse, 5s), "HTTP/1.1 408 "));
  slow.ReadToClose(5s);
  EXPECT_TRUE(slow.closed());

  RawClient idle(s.port());
  ASSERT_TRUE(idle.Send("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  EXPECT_TRUE(StartsWith(idle.ReadUntil(HasWholeResponse, 5s), "HTTP/1.1 200 "));
  idle.ReadToClose(5s);  // kept alive, then closed when idle
  EXPECT_TRUE(idle.closed());
}

TEST(HttpServer, ConnectionsBeyondTheLimitAreAnswered503AndTheOpsListenerHasItsOwn) {
  HttpOptions o;
  o.max_connections = 10;
  o.ops_host = "127.0.0.1";
  o.ops_port = 0;
  o.limits.request_timeout = 60s;
  Server s(o);
  std::vector<std::unique_ptr<RawClient>> held;
  for (int i = 0; i < 10; ++i) held.push_back(std::make_unique<RawClient>(s.port()));
  // The 10 are accepted once the server has seen them.
  ASSERT_TRUE(testing::WaitFor([&] { return s.server().counters()->open.load() == 10; }, 5s));
  RawClient extra(s.port());
  EXPECT_TRUE(StartsWith(extra.ReadUntil(HasWholeResponse, 5s), "HTTP/1.1 503 "));
  // Probes and Prometheus on the ops listener are not refused.
  httplib::Result h = s.Get("/healthz", {}, 1s, s.ops_port());
  ASSERT_TRUE(h) << httplib::to_string(h.error());
  EXPECT_EQ(h->status, 200);
  held.clear();  // and the main listener serves again
  EXPECT_TRUE(testing::WaitFor(
      [&] {
        httplib::Result r = s.Get("/healthz", {}, 1s);
        return r && r->status == 200;
      },
      5s));
}

TEST(HttpServer, PipelinedRequestsAreAnsweredInOrder) {
  Server s;
  RawClient c(s.port());
  ASSERT_TRUE(
      c.Send("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\nGET /nope HTTP/1.1\r\nHost: "
             "localhost\r\n\r\n"
             "HEAD /readyz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"));
  const std::string r = c.ReadToClose(5s);
  const size_t first = r.find("HTTP/1.1 200 ");
  const size_t second = r.find("HTTP/1.1 404 ");
  const size_t third = r.find("HTTP/1.1 ", second + 1);
  ASSERT_NE(first, std::string::npos) << r;
  ASSERT_NE(second, std::string::npos) << r;
  EXPECT_LT(first, second);
  ASSERT_NE(third, std::string::npos) << r;
  EXPECT_TRUE(c.closed());
}

TEST(HttpServer, EveryResponseSaysNosniffAndOnlyGetAndHeadAreServed) {
  Server s;
  for (const char* path : {"/", "/healthz", "/api/v1/quotas", "/nope"}) {
    httplib::Result r = s.Get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->get_header_value("X-Content-Type-Options"), "nosniff") << path;
  }
  httplib::Client c("127.0.0.1", s.port());
  httplib::Result p = c.Post("/api/v1/quotas", "x", "text/plain");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->status, 405);
  EXPECT_EQ(p->get_header_value("Allow"), "GET, HEAD");
  EXPECT_EQ(p->get_header_value("X-Content-Type-Options"), "nosniff");
}

TEST(HttpServer, AQueryThatIsNotUtf8Is400WithTheBytesEscaped) {
  Server s;
  // Before: the API echoed the raw value into JSON, dump() threw: 500, and a
  // log line per request.
  for (const char* path :
       {"/api/v1/quotas?wave=%FF", "/api/v1/scores?wave=%C3%28", "/api/v1/quality?%FF=1"}) {
    httplib::Result r = s.Get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 400) << path << ": " << r->body;
    const nlohmann::json j = nlohmann::json::parse(r->body);  // valid JSON
    EXPECT_TRUE(Contains(j["error"].get<std::string>(), "is not UTF-8")) << r->body;
  }
  // Raw bytes in the request line come back escaped, in valid JSON.
  RawClient raw(s.port());
  ASSERT_TRUE(raw.Send(
      "GET /api/v1/quotas?wave=\xff\xfe HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"));
  const std::string response = raw.ReadToClose(5s);
  ASSERT_TRUE(StartsWith(response, "HTTP/1.1 400 ")) << response;
  const nlohmann::json j = nlohmann::json::parse(response.substr(response.find("\r\n\r\n") + 4));
  EXPECT_TRUE(Contains(j["error"].get<std::string>(), "\\xff\\xfe")) << j;
  // Control characters in a wave that is UTF-8 come back escaped too.
  httplib::Result r = s.Get("/api/v1/quotas?wave=%0Aevil");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(nlohmann::json::parse(r->body)["error"], "wave \"\\x0aevil\" is not configured");
}

TEST(HttpServer, AHostNameOtherThanTheServersIsRefused) {
  Server loopback;
  httplib::Result bad = loopback.Get("/api/v1/quotas", {{"Host", "rebound.evil.example"}});
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  httplib::Result good = loopback.Get("/api/v1/quotas", {{"Host", "localhost:8080"}});
  ASSERT_TRUE(good);
  EXPECT_EQ(good->status, 200);

  HttpOptions o;
  o.allowed_hosts = {"wijkpuls.example.org"};
  Server named(o);
  EXPECT_EQ(named.Get("/healthz", {{"Host", "wijkpuls.example.org"}})->status, 200);
  EXPECT_EQ(named.Get("/healthz", {{"Host", "localhost"}})->status, 400);
}

TEST(HttpServer, TheTokenProtectsTheApiAndMetricsUnlessMetricsHaveTheirOwn) {
  const std::string api_token = "api-token-0123456789";
  const std::string metrics_token = "metrics-token-0123456789";
  const httplib::Headers as_api = {{"Authorization", "bearer " + api_token}};
  const httplib::Headers as_metrics = {{"Authorization", "Bearer " + metrics_token}};
  {
    HttpOptions o;
    o.bearer_token = api_token;
    Server s(o);
    EXPECT_EQ(s.Get("/api/v1/quotas")->status, 401);
    EXPECT_EQ(s.Get("/api/v1/quotas", as_api)->status, 200);  // "bearer" in lower case
    // Before: /metrics was open, with the per-wijk figures the token protects.
    EXPECT_EQ(s.Get("/metrics")->status, 401);
    EXPECT_EQ(s.Get("/metrics", as_api)->status, 200);
    EXPECT_EQ(s.Get("/healthz")->status, 200);  // probes need no token
    EXPECT_EQ(s.Get("/readyz")->status, 200);
  }
  {
    HttpOptions o;
    o.bearer_token = api_token;
    o.metrics_bearer_token = metrics_token;
    o.ops_host = "127.0.0.1";
    o.ops_port = 0;
    Server s(o);
    EXPECT_EQ(s.Get("/metrics", as_api)->status, 401);
    EXPECT_EQ(s.Get("/metrics", as_metrics)->status, 200);
    EXPECT_EQ(s.Get("/metrics", {}, 5s, s.ops_port())->status, 401);
    EXPECT_EQ(s.Get("/metrics", as_metrics, 5s, s.ops_port())->status, 200);
    EXPECT_EQ(s.Get("/api/v1/quotas", as_api, 5s, s.ops_port())->status,
              404);  // the API is not there
  }
  {
    HttpOptions o;
    o.bearer_token = api_token;
    o.ops_host = "127.0.0.1";
    o.ops_port = 0;
    Server s(o);
    httplib::Result m = s.Get("/metrics", {}, 5s, s.ops_port());  // a listener of its own: open
    ASSERT_TRUE(m);
    EXPECT_EQ(m->status, 200);
    EXPECT_TRUE(Contains(m->body, "# TYPE")) << m->body.substr(0, 200);
  }
}

// --- TLS ---

// A self-signed certificate for 127.0.0.1 and localhost, and its key, as PEM files.
void MakeCertificate(const std::string& cert_path, const std::string& key_path, long serial) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  ASSERT_NE(key, nullptr);
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
  X509_gmtime_adj(X509_getm_notBefore(x), -60);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  for (const auto& [nid, value] : {std::pair{NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1"},
                                   std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    ASSERT_NE(ext, nullptr);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  ASSERT_GT(X509_sign(x, key, EVP_sha256()), 0);
  FILE* f = fopen(cert_path.c_str(), "w");
  PEM_write_X509(f, x);
  fclose(f);
  f = fopen(key_path.c_str(), "w");
  PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  fclose(f);
  X509_free(x);
  EVP_PKEY_free(key);
}

httplib::Result GetTls(int port, const std::string& ca, const std::string& path,
                       httplib::Headers headers = {}) {
  httplib::SSLClient c("127.0.0.1", port);
  c.set_ca_cert_path(ca.c_str());
  c.enable_server_certificate_verification(true);
  c.set_connection_timeout(5s);
  c.set_read_timeout(5s);
  return c.Get(path, headers);
}

TEST(HttpServer, ServesHttpsWithTheConfiguredCertificateAndReloadsIt) {
  testing::TempDir dir;
  MakeCertificate(dir.File("a.pem"), dir.File("a.key"), 1);
  MakeCertificate(dir.File("b.pem"), dir.File("b.key"), 2);
  testing::WriteFile(dir.File("cert.pem"), testing::ReadFile(dir.File("a.pem")));
  testing::WriteFile(dir.File("key.pem"), testing::ReadFile(dir.File("a.key")));
  HttpOptions o;
  o.tls_cert_file = dir.File("cert.pem");
  o.tls_key_file = dir.File("key.pem");
  o.bearer_token = "api-token-0123456789";
  Server s(o);

  httplib::Result h = GetTls(s.port(), dir.File("a.pem"), "/healthz");
  ASSERT_TRUE(h) << httplib::to_string(h.error());
  EXPECT_EQ(h->status, 200);
  httplib::Result q = GetTls(s.port(), dir.File("a.pem"), "/api/v1/quotas",
                             {{"Authorization", "Bearer api-token-0123456789"}});
  ASSERT_TRUE(q) << httplib::to_string(q.error());
  EXPECT_EQ(q->status, 200);
  EXPECT_EQ(nlohmann::json::parse(q->body)["wijken"].size(), 71u);
  // Plain HTTP on the TLS port gets nothing.
  EXPECT_FALSE(s.Get("/healthz", {}, 2s));
  // Another CA does not vouch for it.
  EXPECT_FALSE(GetTls(s.port(), dir.File("b.pem"), "/healthz"));

  // A renewed certificate is taken on reload (SIGHUP); a broken one is refused
  // and the old one stays.
  testing::WriteFile(dir.File("key.pem"), "not a key");
  EXPECT_FALSE(s.server().ReloadTls().ok());
  EXPECT_TRUE(GetTls(s.port(), dir.File("a.pem"), "/healthz"));
  testing::WriteFile(dir.File("cert.pem"), testing::ReadFile(dir.File("b.pem")));
  testing::WriteFile(dir.File("key.pem"), testing::ReadFile(dir.File("b.key")));
  ASSERT_TRUE(s.server().ReloadTls().ok());
  EXPECT_TRUE(GetTls(s.port(), dir.File("b.pem"), "/healthz"));
  EXPECT_FALSE(GetTls(s.port(), dir.File("a.pem"), "/healthz"));
}

TEST(HttpServer, ABadCertificateOrKeyIsAnErrorNamingItsKey) {
  testing::TempDir dir;
  MakeCertificate(dir.File("a.pem"), dir.File("a.key"), 1);
  MakeCertificate(dir.File("b.pem"), dir.File("b.key"), 2);
  absl::StatusOr<std::shared_ptr<http::TlsContext>> t =
      http::LoadTls(dir.File("nope.pem"), dir.File("a.key"));
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(Contains(MessageOf(t.status()), "http.tls_cert_file")) << t.status();
  t = http::LoadTls(dir.File("a.pem"), dir.File("b.key"));
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(Contains(MessageOf(t.status()), "http.tls_key_file")) << t.status();
  EXPECT_TRUE(http::LoadTls(dir.File("a.pem"), dir.File("a.key")).ok());
}

}  // namespace
}  // namespace wijkpuls
