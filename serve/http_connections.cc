#include "serve/http_connections.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <unordered_map>

#include "model/log.h"
#include "model/text.h"

namespace wijkpuls::http {
namespace {

using Clock = std::chrono::steady_clock;

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

std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

Framing Error(int status, std::string message) {
  Framing f;
  f.kind = Framing::kError;
  f.status = status;
  f.message = std::move(message);
  return f;
}

bool IsPriority(std::string_view request_line) {
  for (std::string_view method : {"GET ", "HEAD "}) {
    if (!StartsWith(request_line, method)) continue;
    std::string_view target = request_line.substr(method.size());
    for (std::string_view path : {"/healthz", "/readyz"}) {
      if (StartsWith(target, path) && target.size() > path.size() &&
          (target[path.size()] == ' ' || target[path.size()] == '?')) {
        return true;
      }
    }
  }
  return false;
}

const char* Reason(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 408:
      return "Request Timeout";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
  }
  return "Error";
}

// A response written by the connection layer itself; the connection closes after it.
std::string Canned(int status, std::string_view message) {
  std::string body = Cat("{\"error\":\"", message, "\"}");
  return Cat("HTTP/1.1 ", status, " ", Reason(status), "\r\nContent-Type: application/json\r\n",
             "Content-Length: ", body.size(),
             "\r\nConnection: close\r\nCache-Control: no-store\r\n",
             "X-Content-Type-Options: nosniff\r\n\r\n", body);
}

std::string OpenSslError() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown TLS error" : out;
}

void AddressOf(const sockaddr_storage& a, std::string* ip, int* port) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (a.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&a);
    inet_ntop(AF_INET, &v4->sin_addr, buf, sizeof(buf));
    *port = ntohs(v4->sin_port);
  } else if (a.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&a);
    inet_ntop(AF_INET6, &v6->sin6_addr, buf, sizeof(buf));
    *port = ntohs(v6->sin6_port);
  }
  *ip = buf;
}

}  // namespace

Framing FrameRequest(std::string_view received) {
  const size_t end = received.find("\r\n\r\n");
  if (end == std::string_view::npos || end + 4 > kMaxHeadBytes) {
    if (received.size() > kMaxHeadBytes || end != std::string_view::npos) {
      return Error(431, Cat("the request head is larger than ", kMaxHeadBytes, " bytes"));
    }
    Framing f;
    return f;  // incomplete
  }
  const size_t head_length = end + 4;
  const std::string_view head = received.substr(0, end);
  size_t pos = head.find("\r\n");
  const std::string_view request_line = head.substr(0, pos);
  std::optional<uint64_t> content_length;
  while (pos != std::string_view::npos && pos < head.size()) {
    pos += 2;
    size_t line_end = head.find("\r\n", pos);
    const std::string_view line =
        head.substr(pos, line_end == std::string_view::npos ? head.size() - pos : line_end - pos);
    pos = line_end;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;  // not a header: the parser refuses it
    const std::string_view name = line.substr(0, colon);
    const std::string_view value = TrimOws(line.substr(colon + 1));
    if (name.empty() || name.find_first_of(" \t") != std::string_view::npos) {
      return Error(400, "a header name contains white space");
    }
    if (IEquals(name, "transfer-encoding")) {
      return Error(411, Cat("a request body needs a Content-Length (and at most ", kMaxBodyBytes,
                            " bytes)"));
    }
    if (IEquals(name, "content-length")) {
      uint64_t v = 0;
      auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
      if (value.empty() || ec != std::errc() || ptr != value.data() + value.size()) {
        return Error(400, "the Content-Length is not a number");
      }
      if (content_length && *content_length != v)
        return Error(400, "two different Content-Lengths");
      content_length = v;
    }
  }
  const uint64_t body = content_length.value_or(0);
  if (body > kMaxBodyBytes) {
    return Error(413, Cat("a request body of ", body, " bytes is larger than the limit of ",
                          kMaxBodyBytes, " (the API takes none)"));
  }
  Framing f;
  if (received.size() < head_length + body) return f;  // the body is still coming
  f.kind = Framing::kComplete;
  f.length = head_length + body;
  f.priority = IsPriority(request_line);
  return f;
}

class TlsContext {
 public:
  explicit TlsContext(SSL_CTX* ctx) : ctx_(ctx) {}
  ~TlsContext() { SSL_CTX_free(ctx_); }
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;
  SSL_CTX* get() const { return ctx_; }

 private:
  SSL_CTX* ctx_;
};

absl::StatusOr<std::shared_ptr<TlsContext>> LoadTls(const std::string& cert_file,
                                                    const std::string& key_file) {
  ERR_clear_error();
  SSL_CTX* raw = SSL_CTX_new(TLS_server_method());
  if (raw == nullptr) return absl::InternalError(Cat("TLS: ", OpenSslError()));
  auto ctx = std::make_shared<TlsContext>(raw);
  SSL_CTX_set_min_proto_version(raw, TLS1_2_VERSION);
  SSL_CTX_set_options(raw, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_mode(raw, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_use_certificate_chain_file(raw, cert_file.c_str()) != 1) {
    return absl::InvalidArgumentError(Cat("http.tls_cert_file ", cert_file,
                                          ": not a readable PEM certificate chain (",
                                          OpenSslError(), ")"));
  }
  if (SSL_CTX_use_PrivateKey_file(raw, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return absl::InvalidArgumentError(Cat(
        "http.tls_key_file ", key_file, ": not a readable PEM private key (", OpenSslError(), ")"));
  }
  if (SSL_CTX_check_private_key(raw) != 1) {
    return absl::InvalidArgumentError(Cat("http.tls_key_file ", key_file,
                                          ": does not match the certificate of http.tls_cert_file ",
                                          cert_file));
  }
  return ctx;
}

struct ConnectionServer::Impl {
  struct Listener {
    ListenerOptions options;
    int fd = -1;
    int port = 0;
    int open = 0;
    std::optional<Clock::time_point> paused_until;  // out of descriptors: accept again later
    std::mutex tls_mu;
  };

  enum class State { kHandshake, kReading, kProcessing, kWriting, kLingering };

  struct Conn {
    int fd = -1;
    size_t listener = 0;
    SSL* ssl = nullptr;
    State state = State::kReading;
    bool idle = false;  // kReading between requests, nothing received yet
    std::string in;     // received, not yet handled
    std::string out;    // the response being written
    size_t out_pos = 0;
    bool close_after = false;
    int requests = 0;
    Framing request;      // kProcessing: the request the worker handles
    uint32_t events = 0;  // registered epoll events (0: not registered)
    std::optional<Clock::time_point> deadline;
    Peer peer;
  };

  Limits limits;
  std::vector<std::unique_ptr<Listener>> listeners;
  ConnectionCounters counters;
  int epfd = -1;
  int wake_fd = -1;
  std::atomic<bool> stopping{false};
  std::thread reactor;
  std::vector<std::thread> workers;

  // Reactor-owned.
  std::unordered_map<int, std::unique_ptr<Conn>> conns;
  std::set<std::pair<Clock::time_point, int>> deadlines;
  Clock::time_point last_descriptor_warning{};

  // Handed between the reactor and the workers.
  std::mutex mu;
  std::condition_variable work_cv;   // the workers
  std::condition_variable probe_cv;  // the reserved worker
  std::deque<Conn*> urgent, work;  // complete requests
  std::vector<Conn*> done;         // responses made
  bool workers_stop = false;

  static constexpr uint64_t kWakeTag = 1ull << 62;
  static constexpr uint64_t kListenerTag = 1ull << 61;

  ~Impl() {
    for (auto& [fd, c] : conns) {
      if (c->ssl) SSL_free(c->ssl);
      ::close(fd);
    }
    for (auto& l : listeners) {
      if (l->fd >= 0) ::close(l->fd);
    }
    if (epfd >= 0) ::close(epfd);
    if (wake_fd >= 0) ::close(wake_fd);
  }

  void Wake() {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t n = ::write(wake_fd, &one, sizeof(one));
  }

  absl::Status Bind(Listener& l) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* res = nullptr;
    const std::string port = std::to_string(l.options.port);
    const char* host = l.options.host.empty() ? nullptr : l.options.host.c_str();
    const std::string where = Cat(l.options.host, ":", l.options.port);
    if (int rc = getaddrinfo(host, port.c_str(), &hints, &res); rc != 0) {
      return absl::UnavailableError(Cat("cannot listen on ", where, ": ", gai_strerror(rc)));
    }
    std::string last_error = "no address";
    for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
      int fd =
          ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
      if (fd < 0) continue;
      int yes = 1;
      ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
      if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, 512) == 0) {
        sockaddr_storage bound{};
        socklen_t len = sizeof(bound);
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len);
        std::string ip;
        AddressOf(bound, &ip, &l.port);
        l.fd = fd;
        break;
      }
      last_error = std::strerror(errno);
      ::close(fd);
    }
    freeaddrinfo(res);
    if (l.fd < 0) {
      return absl::UnavailableError(Cat("cannot listen on ", where, " (", last_error,
                                        ": in use, or not an address of this machine)"));
    }
    return absl::OkStatus();
  }

  void Listen(size_t i, bool on) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = kListenerTag | i;
    epoll_ctl(epfd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, listeners[i]->fd, &ev);
  }

  // --- connection bookkeeping (reactor thread) ---

  void SetEvents(Conn& c, uint32_t events) {
    if (events == c.events) return;
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = static_cast<uint64_t>(c.fd);
    if (events == 0) {
      epoll_ctl(epfd, EPOLL_CTL_DEL, c.fd, &ev);
    } else {
      epoll_ctl(epfd, c.events == 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, c.fd, &ev);
    }
    c.events = events;
  }

  void SetDeadline(Conn& c, std::optional<std::chrono::milliseconds> in) {
    if (c.deadline) deadlines.erase({*c.deadline, c.fd});
    c.deadline.reset();
    if (in) {
      c.deadline = Clock::now() + *in;
      deadlines.insert({*c.deadline, c.fd});
    }
  }

  void Close(Conn& c) {
    SetEvents(c, 0);
    SetDeadline(c, std::nullopt);
    if (c.ssl) SSL_free(c.ssl);
    ::close(c.fd);
    --listeners[c.listener]->open;
    --counters.open;
    conns.erase(c.fd);  // destroys c
  }

  // Closes after the response: stop sending, then read and drop what the
  // client still sends until it closes (or 2 s), so that the response is not
  // lost to a reset caused by unread data (a refused body, say).
  void Linger(Conn& c) {
    if (c.ssl) {
      ERR_clear_error();
      SSL_shutdown(c.ssl);
    }
    ::shutdown(c.fd, SHUT_WR);
    c.state = State::kLingering;
    c.in.clear();
    SetEvents(c, EPOLLIN);
    SetDeadline(c, std::chrono::milliseconds(2000));
  }

  void Respond(Conn& c, std::string response, bool close_after) {
    c.out = std::move(response);
    c.out_pos = 0;
    c.close_after = close_after;
    c.state = State::kWriting;
    SetDeadline(c, limits.write_timeout);
    Write(c);
  }

  // --- I/O (reactor thread) ---

  // Reads what is there. Returns false when the connection was closed.
  enum class ReadResult { kOk, kClosed, kWantWrite };
  ReadResult ReadSome(Conn& c, size_t cap) {
    char buf[16384];
    while (c.in.size() < cap) {
      const size_t want = std::min(sizeof(buf), cap - c.in.size());
      ssize_t n;
      if (c.ssl) {
        ERR_clear_error();
        const int r = SSL_read(c.ssl, buf, static_cast<int>(want));
        if (r <= 0) {
          const int err = SSL_get_error(c.ssl, r);
          if (err == SSL_ERROR_WANT_READ) return ReadResult::kOk;
          if (err == SSL_ERROR_WANT_WRITE) return ReadResult::kWantWrite;
          return ReadResult::kClosed;  // close_notify, or an error
        }
        n = r;
      } else {
        n = ::recv(c.fd, buf, want, 0);
        if (n == 0) return ReadResult::kClosed;
        if (n < 0) {
          if (errno == EAGAIN || errno == EWOULDBLOCK) return ReadResult::kOk;
          if (errno == EINTR) continue;
          return ReadResult::kClosed;
        }
      }
      if (c.state == State::kLingering) continue;  // dropped
      if (c.idle) {
        c.idle = false;
        SetDeadline(c, limits.request_timeout);
      }
      c.in.append(buf, static_cast<size_t>(n));
    }
    return ReadResult::kOk;
  }

  void Read(Conn& c) {
    const ReadResult r = ReadSome(c, kMaxHeadBytes + kMaxBodyBytes + 1);
    if (r == ReadResult::kClosed) return Close(c);
    NextRequest(c, r == ReadResult::kWantWrite);
  }

  // What is received decides: a whole request goes to a worker, a bad one
  // is answered here, a partial one waits for more.
  void NextRequest(Conn& c, bool want_write = false) {
    Framing f = FrameRequest(c.in);
    if (f.kind == Framing::kComplete) {
      c.state = State::kProcessing;
      c.request = f;
      SetEvents(c, 0);
      SetDeadline(c, std::nullopt);
      {
        std::lock_guard<std::mutex> lock(mu);
        (f.priority ? urgent : work).push_back(&c);
      }
      if (f.priority) probe_cv.notify_one();  // whichever is free first takes it
      work_cv.notify_one();
      return;
    }
    if (f.kind == Framing::kError) {
      (f.status == 413 || f.status == 431 ? counters.too_large : counters.bad_requests)++;
      return Respond(c, Canned(f.status, f.message), true);
    }
    SetEvents(c, want_write ? EPOLLOUT : EPOLLIN);
  }

  void Write(Conn& c) {
    while (c.out_pos < c.out.size()) {
      const size_t left = c.out.size() - c.out_pos;
      if (c.ssl) {
        ERR_clear_error();
        const int r = SSL_write(c.ssl, c.out.data() + c.out_pos,
                                static_cast<int>(std::min<size_t>(left, 1 << 20)));
        if (r <= 0) {
          const int err = SSL_get_error(c.ssl, r);
          if (err == SSL_ERROR_WANT_WRITE) return SetEvents(c, EPOLLOUT);
          if (err == SSL_ERROR_WANT_READ) return SetEvents(c, EPOLLIN);
          return Close(c);
        }
        c.out_pos += static_cast<size_t>(r);
      } else {
        const ssize_t n = ::send(c.fd, c.out.data() + c.out_pos, left, MSG_NOSIGNAL);
        if (n < 0) {
          if (errno == EAGAIN || errno == EWOULDBLOCK) return SetEvents(c, EPOLLOUT);
          if (errno == EINTR) continue;
          return Close(c);
        }
        c.out_pos += static_cast<size_t>(n);
      }
    }
    std::string().swap(c.out);
    c.out_pos = 0;
    if (c.close_after) return Linger(c);
    c.state = State::kReading;
    c.idle = c.in.empty();
    SetDeadline(c, c.idle ? limits.idle_timeout : limits.request_timeout);
    Read(c);  // TLS may hold decrypted bytes that epoll does not announce
  }

  void Handshake(Conn& c) {
    ERR_clear_error();
    const int r = SSL_do_handshake(c.ssl);
    if (r == 1) {
      c.state = State::kReading;
      return Read(c);
    }
    const int err = SSL_get_error(c.ssl, r);
    if (err == SSL_ERROR_WANT_READ) return SetEvents(c, EPOLLIN);
    if (err == SSL_ERROR_WANT_WRITE) return SetEvents(c, EPOLLOUT);
    ++counters.tls_failures;
    spdlog::debug("http: TLS handshake with {} failed: {}", c.peer.ip, OpenSslError());
    Close(c);
  }

  void OnEvent(Conn& c, uint32_t events) {
    switch (c.state) {
      case State::kHandshake:
        return Handshake(c);
      case State::kReading:
        return Read(c);
      case State::kWriting:
        return Write(c);
      case State::kLingering: {
        // Drop what comes until the client closes.
        if (ReadSome(c, SIZE_MAX) == ReadResult::kClosed || (events & (EPOLLHUP | EPOLLERR)))
          Close(c);
        return;
      }
      case State::kProcessing:
        return;  // not registered
    }
  }

  void Accept(size_t i) {
    Listener& l = *listeners[i];
    for (;;) {
      sockaddr_storage addr{};
      socklen_t len = sizeof(addr);
      const int fd =
          ::accept4(l.fd, reinterpret_cast<sockaddr*>(&addr), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          // Out of descriptors: stop accepting for a moment (the listener
          // would stay readable and spin).
          const Clock::time_point now = Clock::now();
          if (now - last_descriptor_warning > std::chrono::seconds(10)) {
            last_descriptor_warning = now;
            spdlog::warn("http: cannot accept on {}: {}; pausing 100 ms", l.options.name,
                         std::strerror(errno));
          }
          l.paused_until = now + std::chrono::milliseconds(100);
          Listen(i, false);
        }
        return;
      }
      ++counters.accepted;
      if (l.open >= l.options.max_connections) {
        ++counters.refused;
        if (!l.options.tls) {
          static const std::string busy = Canned(503, "too many connections; try again later");
          [[maybe_unused]] ssize_t n =
              ::send(fd, busy.data(), busy.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        }
        ::close(fd);
        continue;
      }
      int yes = 1;
      ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
      auto owned = std::make_unique<Conn>();
      Conn& c = *owned;
      c.fd = fd;
      c.listener = i;
      AddressOf(addr, &c.peer.ip, &c.peer.port);
      sockaddr_storage local{};
      socklen_t local_len = sizeof(local);
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_len);
      AddressOf(local, &c.peer.local_ip, &c.peer.local_port);
      std::shared_ptr<TlsContext> tls;
      {
        std::lock_guard<std::mutex> lock(l.tls_mu);
        tls = l.options.tls;
      }
      if (tls) {
        c.ssl = SSL_new(tls->get());
        if (c.ssl == nullptr || SSL_set_fd(c.ssl, fd) != 1) {
          if (c.ssl) SSL_free(c.ssl);
          ::close(fd);
          ++counters.tls_failures;
          continue;
        }
        SSL_set_accept_state(c.ssl);
        c.state = State::kHandshake;
      }
      ++l.open;
      ++counters.open;
      conns.emplace(fd, std::move(owned));
      SetDeadline(c, limits.request_timeout);  // the first request, handshake included
      if (tls) {
        Handshake(c);
      } else {
        SetEvents(c, EPOLLIN);
      }
    }
  }

  void Expire(Clock::time_point now) {
    while (!deadlines.empty() && deadlines.begin()->first <= now) {
      const int fd = deadlines.begin()->second;
      auto it = conns.find(fd);
      if (it == conns.end()) {
        deadlines.erase(deadlines.begin());
        continue;
      }
      Conn& c = *it->second;
      SetDeadline(c, std::nullopt);
      if (c.state == State::kReading && !c.idle && !c.in.empty()) {
        ++counters.timed_out;
        Respond(c,
                Canned(408, Cat("the request did not arrive within ",
                                limits.request_timeout.count(), " ms")),
                true);
        continue;
      }
      if (!(c.state == State::kReading && c.idle) && c.state != State::kLingering)
        ++counters.timed_out;
      Close(c);
    }
  }

  void TakeDone() {
    std::vector<Conn*> ready;
    {
      std::lock_guard<std::mutex> lock(mu);
      ready.swap(done);
    }
    for (Conn* c : ready) {
      std::string response = std::move(c->out);
      Respond(*c, std::move(response), c->close_after);
    }
  }

  void Run() {
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);  // TLS writes to a closed peer: EPIPE, not a signal
    pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
    epoll_event events[64];
    while (!stopping.load()) {
      int timeout_ms = 1000;
      const Clock::time_point now = Clock::now();
      auto until = [&](Clock::time_point t) {
        const auto ms = std::chrono::ceil<std::chrono::milliseconds>(t - now).count();
        timeout_ms = static_cast<int>(std::clamp<int64_t>(ms, 0, timeout_ms));
      };
      if (!deadlines.empty()) until(deadlines.begin()->first);
      for (auto& l : listeners) {
        if (l->paused_until) until(*l->paused_until);
      }
      const int n = epoll_wait(epfd, events, 64, timeout_ms);
      for (int e = 0; e < n; ++e) {
        const uint64_t tag = events[e].data.u64;
        if (tag == kWakeTag) {
          uint64_t v;
          [[maybe_unused]] ssize_t r = ::read(wake_fd, &v, sizeof(v));
        } else if (tag & kListenerTag) {
          Accept(static_cast<size_t>(tag & ~kListenerTag));
        } else {
          auto it = conns.find(static_cast<int>(tag));
          if (it != conns.end()) OnEvent(*it->second, events[e].events);
        }
      }
      TakeDone();
      const Clock::time_point after = Clock::now();
      Expire(after);
      for (size_t i = 0; i < listeners.size(); ++i) {
        if (listeners[i]->paused_until && *listeners[i]->paused_until <= after) {
          listeners[i]->paused_until.reset();
          Listen(i, true);
        }
      }
    }
  }

  // `probes_only`: the reserved worker, which takes /healthz and /readyz
  // alone, so that API requests however costly never make a probe wait.
  void Work(bool probes_only) {
    for (;;) {
      Conn* c = nullptr;
      {
        std::unique_lock<std::mutex> lock(mu);
        (probes_only ? probe_cv : work_cv).wait(lock, [&] {
          return workers_stop || !urgent.empty() || (!probes_only && !work.empty());
        });
        if (workers_stop) return;
        std::deque<Conn*>& q = urgent.empty() ? work : urgent;
        c = q.front();
        q.pop_front();
      }
      ++c->requests;
      const bool last = c->requests >= limits.max_requests_per_connection || stopping.load();
      const std::string_view request(c->in.data(), c->request.length);
      bool close = false;
      std::string response;
      try {
        listeners[c->listener]->options.handler->Handle(request, c->peer, last, response, close);
      } catch (const std::exception& e) {
        spdlog::error("http: a request handler failed: {}", e.what());
        response = Canned(500, "internal error");
        close = true;
      }
      c->in.erase(0, c->request.length);
      c->out = std::move(response);
      c->close_after = close || last;
      {
        std::lock_guard<std::mutex> lock(mu);
        done.push_back(c);
      }
      Wake();
    }
  }
};

ConnectionServer::ConnectionServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ConnectionServer::~ConnectionServer() { Stop(); }

absl::StatusOr<std::unique_ptr<ConnectionServer>> ConnectionServer::Start(
    std::vector<ListenerOptions> listeners, Limits limits, int threads) {
  auto impl = std::make_unique<Impl>();
  impl->limits = limits;
  for (ListenerOptions& o : listeners) {
    auto l = std::make_unique<Impl::Listener>();
    l->options = std::move(o);
    if (absl::Status st = impl->Bind(*l); !st.ok()) return st;
    impl->listeners.push_back(std::move(l));
  }
  impl->epfd = epoll_create1(EPOLL_CLOEXEC);
  impl->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (impl->epfd < 0 || impl->wake_fd < 0) {
    return absl::InternalError(Cat("http: cannot create the event loop: ", std::strerror(errno)));
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = Impl::kWakeTag;
  epoll_ctl(impl->epfd, EPOLL_CTL_ADD, impl->wake_fd, &ev);
  for (size_t i = 0; i < impl->listeners.size(); ++i) impl->Listen(i, true);
  Impl* p = impl.get();
  for (int i = 0; i <= std::max(1, threads); ++i) {
    const bool probes_only = i == 0;
    p->workers.emplace_back([p, probes_only] {
      pthread_setname_np(pthread_self(), probes_only ? "wp-http-probe" : "wp-http");
      p->Work(probes_only);
    });
  }
  p->reactor = std::thread([p] {
    pthread_setname_np(pthread_self(), "wp-http-io");
    p->Run();
  });
  return std::unique_ptr<ConnectionServer>(new ConnectionServer(std::move(impl)));
}

int ConnectionServer::port(size_t listener) const { return impl_->listeners.at(listener)->port; }

void ConnectionServer::SetTls(size_t listener, std::shared_ptr<TlsContext> tls) {
  Impl::Listener& l = *impl_->listeners.at(listener);
  std::lock_guard<std::mutex> lock(l.tls_mu);
  l.options.tls = std::move(tls);
}

const ConnectionCounters& ConnectionServer::counters() const { return impl_->counters; }

void ConnectionServer::Stop() {
  if (!impl_) return;
  impl_->stopping = true;
  impl_->Wake();
  if (impl_->reactor.joinable()) impl_->reactor.join();
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->workers_stop = true;
  }
  impl_->work_cv.notify_all();
  impl_->probe_cv.notify_all();
  for (std::thread& t : impl_->workers) {
    if (t.joinable()) t.join();
  }
  impl_->workers.clear();
  impl_.reset();  // closes every connection and listener
}

}  // namespace wijkpuls::http
