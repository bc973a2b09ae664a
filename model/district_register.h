// The district register (config/districts.csv): the wijken and gebieden,
// each wijk's net target per instrument, its gross sample (invited) and its
// population aged 15+ per age band x sex cell. Immutable once loaded; a
// reload (SIGHUP) builds a new one.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <unordered_map>

#include "model/text.h"
#include "absl/status/statusor.h"
#include "model/types.h"

namespace wijkpuls {

struct Wijk {
  std::string id;    // "tussendijken": the Kafka key and the path segment of the API
  std::string name;  // "Tussendijken"
  int gebied = 0;    // index into DistrictRegister::gebieden()
  int64_t target = 0;   // net completes wanted per instrument
  int64_t invited = 0;  // gross sample, both instruments
  std::array<int64_t, kCellCount> population{};  // by CellIndex(age, sex)
  int64_t PopulationTotal() const;
};

struct Gebied {
  std::string id;
  std::string name;
  std::vector<int> wijken;  // indices into DistrictRegister::wijken(), in file order
};

class DistrictRegister {
 public:
  const std::vector<Wijk>& wijken() const { return wijken_; }
  const std::vector<Gebied>& gebieden() const { return gebieden_; }
  std::optional<int> FindWijk(std::string_view id) const;
  std::optional<int> FindGebied(std::string_view id) const;
  const std::string& sha256() const { return sha256_; }
  const std::string& path() const { return path_; }

  static absl::StatusOr<DistrictRegister> Parse(std::string_view csv, const std::string& source);
  static absl::StatusOr<DistrictRegister> Load(const std::string& path);

 private:
  std::vector<Wijk> wijken_;
  std::vector<Gebied> gebieden_;
  std::unordered_map<std::string, int, StringHash, std::equal_to<>> wijk_index_;
  std::string sha256_;
  std::string path_;
};

// True for ids usable as a Kafka key part and a URL segment: [a-z0-9-]{1,64}.
bool IsValidUnitId(std::string_view id);

}  // namespace wijkpuls
