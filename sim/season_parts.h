// Internal parts of the season simulator shared by its files: the seeded
// random source, a response before encoding, and the simulator's own
// account of the quality flags.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "sim/simulator.h"
#include "model/methodology.h"

namespace wijkpuls::sim {

class Rng {
 public:
  explicit Rng(uint64_t seed) : gen_(seed) {}
  double U() { return std::uniform_real_distribution<double>(0.0, 1.0)(gen_); }
  double U(double lo, double hi) { return lo + (hi - lo) * U(); }
  double N() { return std::normal_distribution<double>(0.0, 1.0)(gen_); }
  bool P(double p) { return U() < p; }
  int Int(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(gen_); }  // inclusive
  double Exp(double mean) { return std::exponential_distribution<double>(1.0 / mean)(gen_); }
  template <typename T>
  const T& Pick(const std::vector<T>& v) { return v[static_cast<size_t>(Int(0, static_cast<int>(v.size()) - 1))]; }
  // Index drawn with the given weights.
  int Weighted(const std::vector<double>& w) {
    return std::discrete_distribution<int>(w.begin(), w.end())(gen_);
  }
  uint64_t Bits() { return gen_(); }

 private:
  std::mt19937_64 gen_;
};

// A response before encoding. Enum fields are wire numbers (0 = unset).
struct Draft {
  std::string response_id;
  std::string ref;
  std::string wave;
  std::string wijk;
  int instrument = 0;
  int mode = 0;
  int age = 0;
  int sex = 0;
  std::optional<UnixNanos> started;
  std::optional<UnixNanos> submitted;
  std::vector<std::pair<std::string, int>> answers;
  std::string interviewer;
  bool consent = true;
  std::string version = "2024.1";
  bool json = false;
  bool malformed = false;
  bool pad_oversized = false;
  Expected expected;
  UnixNanos event_time = 0;
  bool clean = true;        // no trouble injected: may be chosen for more trouble
  bool valid_id = true;     // a redelivery would be a duplicate
};

// Independent account of the quality flags (methodology section 6): what
// the simulator expects wijkpuls to find. Written from the methodology text,
// not with wijkpuls' rules.
FlagSet ExpectedFlags(const Draft& d, const Methodology& m);

// Local time `seconds_into_day` after midnight of `day` in the methodology's zone.
UnixNanos LocalTime(const Methodology& m, DayNumber day, double seconds_into_day);

// Turns a share of the clean drafts into every kind of trouble of the mix:
// quality flags, rejections and second responses, with what each is meant to be.
void InjectTrouble(std::vector<Draft>& drafts, Rng& rng, const Methodology& m, const Wave& wave,
                   const TroubleMix& mix, const std::function<std::string()>& new_response_id);

}  // namespace wijkpuls::sim
