// Reading YAML configuration with errors that name the file and the key.
// yaml-cpp throws; this wrapper turns every problem into one
// absl::InvalidArgumentError("<file>: <key.path>: <what is wrong>") at the
// boundary (ReadYamlFile / ParseYaml), so no exception leaves the module.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace wijkpuls::yaml {

// Thrown inside a parse callback; caught by Parse* and turned into a status.
struct FieldError {
  std::string key;
  std::string what;
};

// A YAML node and its key path ("kafka.brokers", "indicators[3].sigma0").
class Field {
 public:
  Field(YAML::Node node, std::string path) : node_(std::move(node)), path_(std::move(path)) {}

  const std::string& path() const { return path_; }
  bool IsMap() const { return node_.IsMap(); }
  bool IsSequence() const { return node_.IsSequence(); }
  bool IsNull() const { return !node_ || node_.IsNull(); }

  Field Required(std::string_view key) const;  // error when absent or null
  std::optional<Field> Optional(std::string_view key) const;
  // Fails on any key not in `allowed` (catches typos such as "bokers").
  void AllowOnly(std::initializer_list<std::string_view> allowed) const;

  std::string String() const;  // a non-empty scalar
  std::string Text() const;    // a scalar, "" allowed
  int64_t Int(int64_t min, int64_t max) const;
  double Double() const;
  bool Bool() const;
  std::vector<Field> Items() const;                                  // a sequence
  std::vector<std::pair<std::string, Field>> Entries() const;         // a map, in file order
  std::vector<int64_t> IntList(int64_t min, int64_t max) const;

  [[noreturn]] void Fail(std::string what) const;

 private:
  YAML::Node node_;
  std::string path_;
};

// Parses `text` (named `source` in errors) and runs `read` on its root.
absl::Status ParseYaml(std::string_view text, const std::string& source,
                       const std::function<void(const Field& root)>& read);

// Reads the file at `path` and parses it as above. The status names the file.
absl::Status ReadYamlFile(const std::string& path, const std::function<void(const Field&)>& read);

// Reads a whole file; error names the path and errno text.
absl::StatusOr<std::string> ReadFileToString(const std::string& path);

}  // namespace wijkpuls::yaml
