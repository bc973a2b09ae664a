// `wijkpuls quotas` and `wijkpuls scores`: the API's documents, from a
// running daemon (--url) or from a state directory (--config), as an aligned
// table or as JSON.
#include <httplib.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cerrno>
#include <cstring>

#include <iomanip>
#include <iostream>
#include <sstream>
#include <vector>

#include "absl/time/time.h"
#include "app/commands.h"
#include "app/config.h"
#include "app/daemon.h"
#include "score/global_stage.h"
#include "nlohmann/json.hpp"
#include "serve/api.h"
#include "model/text.h"
#include "model/yaml_reader.h"

namespace wijkpuls {
namespace {

using nlohmann::json;

// The API's error body ({"error": "..."}) as its text; other bodies as they are.
std::string ErrorText(const std::string& body) {
  json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_object() && doc.contains("error") && doc["error"].is_string()) return doc["error"].get<std::string>();
  return body;
}

// Why a request got no answer, in words: for a failed connection the cause
// the system gives (a connection of our own to the same address, as httplib
// keeps no errno), e.g. "connection refused".
std::string NoAnswer(const std::string& url, httplib::Error error) {
  if (error != httplib::Error::Connection) return httplib::to_string(error);
  std::string rest = url.substr(url.find("://") == std::string::npos ? 0 : url.find("://") + 3);
  rest = rest.substr(0, rest.find('/'));
  std::string host = rest, port = url.rfind("https", 0) == 0 ? "443" : "80";
  if (const size_t colon = rest.rfind(':'); colon != std::string::npos && rest.find(']') == std::string::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    return Cat("cannot resolve ", host, ": ", gai_strerror(rc));
  }
  int err = 0;
  for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
    const int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
      err = errno;
      continue;
    }
    const int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
    err = rc == 0 ? 0 : errno;
    close(fd);
    if (rc == 0) break;
  }
  freeaddrinfo(found);
  if (err == 0) return "could not connect (the connection failed, then succeeded on a second try)";
  std::string why = std::strerror(err);
  if (!why.empty()) why[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(why[0])));
  return why;
}

absl::StatusOr<std::string> FetchUrl(const std::string& url, const std::string& token_file,
                                     const std::string& path) {
  httplib::Client client(url);
  client.set_connection_timeout(5);
  client.set_read_timeout(30);
  if (!token_file.empty()) {
    absl::StatusOr<std::string> token = yaml::ReadFileToString(token_file);
    if (!token.ok()) return absl::InvalidArgumentError(Cat("--token-file: ", token.status().message()));
    client.set_bearer_token_auth(std::string(Trim(*token)));
  }
  httplib::Result res = client.Get(path.c_str());
  if (!res) return absl::UnavailableError(Cat(url, path, ": ", NoAnswer(url, res.error())));
  if (res->status != 200) {
    // A request for what does not exist is a usage error, as with --config.
    std::string why = Cat(url, path, ": HTTP ", res->status, ": ", ErrorText(res->body));
    return res->status == 404 ? absl::NotFoundError(std::move(why)) : absl::UnavailableError(std::move(why));
  }
  return res->body;
}

// The API document computed from a state directory (opened read-only, so a
// running daemon is not disturbed).
absl::StatusOr<std::string> FromState(const ReportArgs& a, const std::function<ApiResponse(Api&)>& get) {
  absl::StatusOr<Config> config = LoadConfig(a.config);
  if (!config.ok()) return config.status();
  if (!a.state_dir.empty()) config->store.dir = a.state_dir;
  absl::StatusOr<Definitions> defs = LoadConfiguredDefinitions(*config);
  if (!defs.ok()) return defs.status();
  StoreOptions so = config->store;
  so.read_only = true;
  auto store = OpenStateStore(so);
  if (!store.ok()) return ConfigKeyError(store.status(), *config, "state.dir");
  // Aggregates built under another methodology must not be shown under this one.
  if (absl::Status st = CheckStoredMethodology(**store, *defs->methodology, config->path, /*stamp=*/false); !st.ok()) {
    return st;
  }
  auto cs = std::make_shared<CommittedState>();
  cs->version = 1;
  cs->methodology = std::move(defs->methodology);
  cs->districts = std::move(defs->districts);
  TaskStates tasks;
  if (absl::Status st = (*store)->LoadAggregates(*cs->methodology, tasks); !st.ok()) return st;
  cs->state = SumOfTasks(tasks);
  StateHub hub;
  hub.Publish(cs);
  Api api(hub, ApiOptions{ViewsOf(*config)});
  ApiResponse r = get(api);
  if (r.status != 200) return absl::NotFoundError(ErrorText(r.body));
  return r.body;
}

absl::StatusOr<std::string> Document(const ReportArgs& a, const std::string& path,
                                     const std::function<ApiResponse(Api&)>& get) {
  if (a.url.empty() == a.config.empty()) {
    return absl::InvalidArgumentError("give exactly one of --url URL (a running daemon) or --config FILE");
  }
  if (!a.token_file.empty() && a.url.empty()) return absl::InvalidArgumentError("--token-file goes with --url");
  if (!a.url.empty()) return FetchUrl(a.url, a.token_file, path);
  return FromState(a, get);
}

// Code points, as a terminal shows them ("15–29" is five wide).
size_t Width(const std::string& s) {
  size_t cps = 0;
  for (unsigned char c : s) cps += (c & 0xC0) != 0x80;
  return cps;
}

// Widths count code points, so "15–29" lines up.
std::string Pad(const std::string& s, size_t width) {
  const size_t cps = Width(s);
  return cps >= width ? s : s + std::string(width - cps, ' ');
}

// At most `width` code points, the last one an ellipsis when cut.
std::string Cut(const std::string& s, size_t width) {
  if (Width(s) <= width) return s;
  std::string out;
  size_t cps = 0;
  for (unsigned char ch : s) {
    if ((ch & 0xC0) != 0x80 && ++cps > width - 1) break;
    out += static_cast<char>(ch);
  }
  return out + "…";
}

std::string Fixed(double v, int digits) {
  std::ostringstream ss;
  ss << std::fixed << std::setprecision(digits) << v;
  return ss.str();
}


// An RFC 3339 instant of the API in Europe/Amsterdam, as fieldwork managers read time.
std::string Amsterdam(const json& t) {
  if (!t.is_string()) return "none";
  absl::Time when;
  std::string err;
  static const absl::TimeZone tz = [] {
    absl::TimeZone z;
    return absl::LoadTimeZone("Europe/Amsterdam", &z) ? z : absl::UTCTimeZone();
  }();
  if (!absl::ParseTime(absl::RFC3339_full, t.get<std::string>(), &when, &err)) return t.get<std::string>();
  return absl::FormatTime("%Y-%m-%d %H:%M %Z", when, tz);
}

int StatusRank(const std::string& s) {
  static const std::vector<std::string> order = {"BEHIND", "AT_RISK", "EARLY", "ON_TRACK", "COMPLETE"};
  const auto it = std::find(order.begin(), order.end(), s);
  return static_cast<int>(it - order.begin());
}

// The cells behind in the API's words, each with its shortfall against what
// was expected by now (the API lists them in the order of its cells).
std::vector<std::string> CellsBehind(const json& w) {
  std::vector<std::string> out;
  size_t k = 0;
  const json& words = w["cells_behind"];
  for (const json& c : w["cells"]) {
    if (!c["behind"].get<bool>() || k >= words.size()) continue;
    const int64_t short_by = static_cast<int64_t>(std::ceil(c["expected_by_now"].get<double>() - c["net"].get<double>()));
    out.push_back(Cat(words[k++].get<std::string>(), " −", short_by));
  }
  for (; k < words.size(); ++k) out.push_back(words[k].get<std::string>());
  return out;
}

void PrintQuotaTable(const json& doc, const ReportArgs& a) {
  std::cout << "wave " << doc["wave"].get<std::string>() << ", watermark " << Amsterdam(doc.value("watermark", json()))
            << ", fieldwork day " << doc["days_elapsed"] << " of " << doc["fieldwork_days"] << "\n\n";
  std::vector<std::pair<std::string, size_t>> cols = {{"wijk", a.wide ? 34 : 24}};
  if (a.wide) cols.push_back({"gebied", 24});
  for (const auto& c : std::vector<std::pair<std::string, size_t>>{
           {"status", 9}, {"VM net/tgt", 10}, {"proj", 5}, {"WO net/tgt", 10}, {"proj", 5}, {"resp", 5}}) {
    cols.push_back(c);
  }
  size_t indent = 0;
  for (const auto& [name, w] : cols) indent += w + 1;
  for (const auto& [name, w] : cols) std::cout << Pad(name, w) << " ";
  std::cout << "cells behind (short of expected by now)\n";
  std::vector<json> wijken(doc["wijken"].begin(), doc["wijken"].end());
  auto name = [](const json& w) { return w["wijk_name"].get<std::string>(); };
  std::stable_sort(wijken.begin(), wijken.end(), [&](const json& x, const json& y) {
    if (a.sort == "name") return name(x) < name(y);
    if (a.sort == "gebied") {
      return std::make_pair(x["gebied_name"].get<std::string>(), name(x)) <
             std::make_pair(y["gebied_name"].get<std::string>(), name(y));
    }
    const int sx = StatusRank(x["status"].get<std::string>()), sy = StatusRank(y["status"].get<std::string>());
    if (a.sort == "status" && sx != sy) return sx < sy;
    const double rx = x["risk"].get<double>(), ry = y["risk"].get<double>();
    if (rx != ry) return rx < ry;
    if (sx != sy) return sx < sy;
    return name(x) < name(y);
  });
  const size_t limit = 120;
  for (const json& w : wijken) {
    std::vector<std::string> row;
    row.push_back(a.wide ? name(w) : Cut(name(w), 24));
    if (a.wide) row.push_back(w["gebied_name"].get<std::string>());
    row.push_back(w["status"].get<std::string>());
    for (const json& i : w["instruments"]) {
      row.push_back(Cat(i["net"].get<int64_t>(), "/", i["target"].get<int64_t>()));
      row.push_back(Fixed(i["projected"].get<double>(), 0));
    }
    row.push_back(Fixed(100 * w["response_rate"].get<double>(), 0) + "%");
    std::string line;
    for (size_t i = 0; i < row.size() && i < cols.size(); ++i) line += Pad(row[i], cols[i].second) + " ";
    if (w["cells_behind"].empty()) {
      while (!line.empty() && line.back() == ' ') line.pop_back();
    }
    std::cout << line;
    // The cells behind, wrapped under their column to stay within 120 columns (one line with --wide).
    size_t at = indent;
    bool first = true;
    for (const std::string& c : CellsBehind(w)) {
      const std::string item = (first ? "" : ", ") + c;
      if (!a.wide && !first && at + Width(item) > limit) {
        std::cout << ",\n" << std::string(indent, ' ');
        at = indent;
        std::cout << c;
        at += Width(c);
      } else {
        std::cout << item;
        at += Width(item);
      }
      first = false;
    }
    std::cout << "\n";
  }
  const json& city = doc["stad"];
  std::cout << "\n" << city["stad_name"].get<std::string>() << ":";
  for (const json& i : city["instruments"]) {
    const std::string inst = i["instrument"].get<std::string>();
    std::cout << " " << (inst == "VEILIGHEIDSMONITOR" ? "VM" : inst == "WIJKONDERZOEK" ? "WO" : inst) << " "
              << i["net"] << "/" << i["target"] << " (" << i["status"].get<std::string>() << "),";
  }
  std::cout << " response rate " << Fixed(100 * city["response_rate"].get<double>(), 1) << "%, cells behind "
            << city["cells_behind_count"] << "\n";
}

std::string ScoreCell(const json& s) {
  if (!s["has_value"].get<bool>()) return s["status"].get<std::string>() == "SUPPRESSED" ? "suppressed" : "-";
  // The interval as published (its z is the methodology's, not always 1.96):
  // "± h" when it is symmetric, else its ends (a percent indicator's Wilson
  // interval, methodology section 5).
  const double score = s["score"].get<double>();
  const double up = s["ci_high"].get<double>() - score, down = score - s["ci_low"].get<double>();
  std::string v = std::abs(up - down) < 0.05
                      ? Fixed(score, 1) + " ±" + Fixed(up, 1)
                      : Fixed(score, 1) + " [" + Fixed(s["ci_low"].get<double>(), 1) + ", " +
                            Fixed(s["ci_high"].get<double>(), 1) + "]";
  if (s["status"].get<std::string>() == "LOW_PRECISION") v += " (low)";
  return v;
}


// Fits 120 columns: the id as --level and --unit take it (never cut: it is
// what is typed), then the name, the responses and the three indices.
void PrintScoreRow(const json& u) {
  const std::string id = Cat(u["level"].get<std::string>(), " ", u["unit"].get<std::string>());
  const size_t name_width = Width(id) > 26 ? 24 - std::min<size_t>(24, Width(id) - 26) : 24;
  std::string line = Pad(id, 26) + " " + Pad(Cut(u["unit_name"].get<std::string>(), std::max<size_t>(name_width, 8)),
                                               std::max<size_t>(name_width, 8)) +
                     " " + Pad(std::to_string(u["responses_counted"].get<int64_t>()), 6);
  for (const json& x : u["indices"]) {
    line += ' ';  // appended, not " " + Pad(…): GCC 12's -Wrestrict misfires on it at -O3
    line += Pad(ScoreCell(x), 18);
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  std::cout << line << "\n";
}

}  // namespace

int QuotasCommand(const ReportArgs& a) {
  absl::StatusOr<std::string> body = Document(a, "/api/v1/quotas" + (a.wave.empty() ? "" : "?wave=" + a.wave),
                                              [&](Api& api) { return api.Quotas(a.wave); });
  if (!body.ok()) {
    std::cerr << "wijkpuls quotas: " << MessageOf(body.status()) << "\n";
    return ExitCodeOf(body.status());
  }
  if (a.json) {
    std::cout << *body << "\n";
  } else {
    PrintQuotaTable(json::parse(*body), a);
  }
  return kExitOk;
}

int ScoresCommand(const ReportArgs& a) {
  if (a.level.empty() != a.unit.empty()) {
    std::cerr << "wijkpuls scores: --level and --unit go together (e.g. --level wijk --unit carnisse; "
                 "--level stad --unit stad); without both, every unit\n";
    return kExitConfig;
  }
  const bool one = !a.level.empty() || !a.unit.empty();
  const std::string path = one ? Cat("/api/v1/scores/", a.level, "/", a.unit) : std::string("/api/v1/scores");
  absl::StatusOr<std::string> body =
      Document(a, path + (a.wave.empty() ? "" : "?wave=" + a.wave),
               [&](Api& api) { return one ? api.Score(a.level, a.unit, a.wave) : api.Scores(a.wave); });
  if (!body.ok()) {
    std::cerr << "wijkpuls scores: " << MessageOf(body.status()) << "\n";
    return ExitCodeOf(body.status());
  }
  if (a.json) {
    std::cout << *body << "\n";
    return kExitOk;
  }
  json doc = json::parse(*body);
  std::string head = Pad("--level --unit", 26) + " " + Pad("name", 24) + " " + Pad("n", 6);
  const json& first = one ? doc : doc["units"][0];
  for (const json& x : first["indices"]) {
    head += ' ';
    head += Pad(Cat(x["id"].get<std::string>(), " (± 95%)"), 18);
  }
  while (!head.empty() && head.back() == ' ') head.pop_back();
  std::cout << head << "\n";
  if (one) {
    PrintScoreRow(doc);
    // One unit: each index's themes, each above its indicators.
    for (const json& x : doc["indices"]) {
      std::cout << "\n" << x["id"].get<std::string>() << "  " << ScoreCell(x) << "\n";
      for (const json& t : doc["themes"]) {
        if (t.value("parent", "") != x["id"].get<std::string>()) continue;
        std::cout << "  " << Pad(t["id"].get<std::string>(), 26) << " " << Pad(ScoreCell(t), 20) << " n "
                  << t["n"] << "\n";
        for (const json& i : doc["indicators"]) {
          if (i.value("parent", "") != t["id"].get<std::string>()) continue;
          std::cout << "    " << Pad(i["id"].get<std::string>(), 24) << " " << Pad(ScoreCell(i), 20) << " n "
                    << i["n"] << ", n_eff " << Fixed(i.value("n_eff", 0.0), 1) << "\n";
        }
      }
    }
  } else {
    for (const json& u : doc["units"]) PrintScoreRow(u);
  }
  std::cout << "\nscore ± half-width of its 95% interval, in score points (100 = the city in 2014);\n"
               "score [low, high]: an interval that is not symmetric (a percentage's Wilson interval).\n"
               "(low): LOW_PRECISION, 30-49 answers; suppressed: fewer than 30 answers, no value is published.\n"
               "Provisional until the wave is closed.\n";
  return kExitOk;
}

}  // namespace wijkpuls
