// The connections of the HTTP server. One event thread (epoll, non-blocking
// sockets) accepts, does the TLS handshakes, reads each request whole and
// writes each response; worker threads only turn a complete request into a
// complete response. So a slow or idle client costs a file descriptor and a
// buffer, never a thread, and a worker is busy only for the milliseconds a
// handler takes. /healthz and /readyz go ahead of other requests, and one
// more worker is reserved for them: API requests, however many or costly,
// never make a probe wait.
//
// Limits (each a reason in ConnectionCounters): a request head of at most
// kMaxHeadBytes, a body of at most kMaxBodyBytes with a Content-Length (no
// chunked bodies: the API takes none), a whole request within
// request_timeout, keep-alive connections closed after idle_timeout, a
// response written within write_timeout, and at most max_connections open
// connections per listener (more are answered 503 and closed).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace wijkpuls::http {

inline constexpr size_t kMaxHeadBytes = 16 * 1024;
inline constexpr size_t kMaxBodyBytes = 4 * 1024;

struct Limits {
  std::chrono::milliseconds request_timeout{
      10000};  // from accept, or a request's first byte, to its last
  std::chrono::milliseconds idle_timeout{5000};  // keep-alive: from a response to the next request
  std::chrono::milliseconds write_timeout{10000};  // to write one response
  int max_requests_per_connection = 1000;
};

struct Peer {
  std::string ip;
  int port = 0;
  std::string local_ip;
  int local_port = 0;
};

// Turns one complete request (head and body, as received) into a complete
// response. Called on worker threads, concurrently.
class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  // `last`: the connection closes after this response (say so in it).
  // Sets `close` when the connection must close after the response.
  virtual void Handle(std::string_view request, const Peer& peer, bool last, std::string& response,
                      bool& close) = 0;
};

// How a buffer of received bytes frames the next request.
struct Framing {
  enum Kind { kIncomplete, kComplete, kError } kind = kIncomplete;
  size_t length = 0;      // kComplete: head + body
  bool priority = false;  // kComplete: GET/HEAD of /healthz or /readyz
  int status = 0;         // kError: 400, 411, 413, 431
  std::string message;    // kError
};
// Pure: what `received` holds so far. A request whose head is complete and
// declares a body waits for the body (at most kMaxBodyBytes).
Framing FrameRequest(std::string_view received);

// A TLS server context (certificate chain and key, PEM). Errors name the file.
class TlsContext;
absl::StatusOr<std::shared_ptr<TlsContext>> LoadTls(const std::string& cert_file,
                                                    const std::string& key_file);

struct ListenerOptions {
  std::string name;  // "http", "ops": in logs
  std::string host;
  int port = 0;  // 0: any free port
  int max_connections = 256;
  std::shared_ptr<TlsContext> tls;  // null: plain HTTP
  RequestHandler* handler = nullptr;
};

struct ConnectionCounters {
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> refused{0};       // over max_connections
  std::atomic<uint64_t> timed_out{0};     // request, idle-with-partial-request or write timeout
  std::atomic<uint64_t> too_large{0};     // 413, 431
  std::atomic<uint64_t> bad_requests{0};  // 400, 411 framed here
  std::atomic<uint64_t> tls_failures{0};  // handshakes that failed
  std::atomic<int64_t> open{0};           // connections open now, all listeners
};

class ConnectionServer {
 public:
  // Binds every listener (errors name the address) and starts the event
  // thread, `threads` workers and the probes' reserved one.
  static absl::StatusOr<std::unique_ptr<ConnectionServer>> Start(
      std::vector<ListenerOptions> listeners, Limits limits, int threads);
  ~ConnectionServer();
  ConnectionServer(const ConnectionServer&) = delete;
  ConnectionServer& operator=(const ConnectionServer&) = delete;

  int port(size_t listener) const;
  // New connections of `listener` use `tls` (a reloaded certificate).
  void SetTls(size_t listener, std::shared_ptr<TlsContext> tls);
  const ConnectionCounters& counters() const;
  // Closes the listeners and every connection, and joins the threads.
  void Stop();

 private:
  struct Impl;
  explicit ConnectionServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace wijkpuls::http
