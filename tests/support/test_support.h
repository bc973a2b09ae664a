// Helpers shared by the tests: paths, temporary directories, the default
// configuration, subprocesses, HTTP, waiting on a condition with a deadline,
// and reading a Kafka topic to its end.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "model/district_register.h"
#include "model/methodology.h"

namespace wijkpuls::testing {

std::string SourceDir();      // the project's root
std::string BinaryPath();     // the built wijkpuls binary
std::string MethodologyPath();
std::string DistrictsPath();
const Methodology& DefaultMethodology();
const DistrictRegister& DefaultDistricts();

// A fresh directory under the build tree's test area, removed at destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Local time (Europe/Amsterdam) "YYYY-MM-DD HH:MM:SS" as UnixNanos.
UnixNanos Local(const std::string& civil);

// Polls `condition` until it holds or `timeout` passes; true when it held.
bool WaitFor(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
             std::chrono::milliseconds every = std::chrono::milliseconds(50));

void WriteFile(const std::string& path, const std::string& content);
std::string ReadFile(const std::string& path);
// `text` with its first `from` replaced by `to`; throws (gtest reports it,
// naming `from`) if `text` has no `from`, so a test cannot silently patch nothing.
std::string Patched(std::string text, const std::string& from, const std::string& to);
// `text` with its first line that starts with `prefix` replaced by `line`
// (removed when `line` is empty); throws if no line starts with `prefix`.
std::string WithLine(std::string text, const std::string& prefix, const std::string& line);

// A child process with its output in a file.
class Subprocess {
 public:
  Subprocess(const std::vector<std::string>& argv, const std::string& output_file);
  ~Subprocess();  // kills (SIGKILL) if still running
  pid_t pid() const { return pid_; }
  void Signal(int sig);
  // The exit code (or 128 + signal), or nullopt when it has not ended in time.
  std::optional<int> Wait(std::chrono::milliseconds timeout);
  bool Running();
  std::string Output() const { return ReadFile(output_file_); }

 private:
  pid_t pid_ = -1;
  std::string output_file_;
  std::optional<int> exit_code_;
};

// Runs a command to its end; returns the exit code and fills `output`.
int RunCommand(const std::vector<std::string>& argv, std::string* output,
        std::chrono::milliseconds timeout = std::chrono::minutes(5));

struct HttpResult {
  int status = 0;  // 0: no connection
  std::string body;
  std::map<std::string, std::string> headers;  // names in lower case
};
HttpResult HttpGet(int port, const std::string& path);
// A POST with an empty JSON body (status and body; for what the API refuses).
HttpResult HttpPost(int port, const std::string& path);

// A free TCP port on 127.0.0.1 (bound and released).
int FreePort();

struct KafkaRecord {
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key;
  std::string value;
  std::map<std::string, std::string> headers;
};
// Reads every record of `topic` from the beginning to the current end. Throws
// (the test fails, naming the topic) rather than return part of it: when a
// partition's offsets cannot be read within 30 s, or its records within 60 s.
// A topic that does not exist yet reads as empty.
std::vector<KafkaRecord> ReadTopic(const std::string& brokers, const std::string& topic);
// The end offset of every partition of `topic` (throws like ReadTopic).
std::map<int32_t, int64_t> EndOffsets(const std::string& brokers, const std::string& topic);

// A daemon config for tests: the default methodology and register, a key file,
// a state dir under `dir`, HTTP on `port`, Kafka at `brokers`.
std::string WriteTestConfig(const TempDir& dir, const std::string& brokers, int port,
                            const std::string& group, const std::string& extra_yaml = "");

}  // namespace wijkpuls::testing
