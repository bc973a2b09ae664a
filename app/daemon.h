// The daemon (`wijkpuls serve`, and the daemon inside `demo`): wires the
// state directory, the pipeline, Kafka, the output publisher and HTTP.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "app/config.h"
#include "validate/pseudonymiser.h"

namespace wijkpuls {

// Exit codes of the contract.
inline constexpr int kExitOk = 0;
inline constexpr int kExitRuntime = 1;
inline constexpr int kExitConfig = 2;

// Configuration problems (exit 2) are InvalidArgument or NotFound; anything
// else is a runtime failure (exit 1).
int ExitCodeOf(const absl::Status& status);

// The cores this process may use: its CPU affinity (taskset, cpusets),
// capped by a cgroup v2 CPU limit (a container's limits.cpu). The default
// of pipeline.threads.
int UsableCores();

// The configuration's methodology and register, loaded and checked against
// each other and the configuration (closed_waves, references): what serve,
// replay, rebuild, check-config and the reports all start from.
struct Definitions {
  std::shared_ptr<const Methodology> methodology;
  std::shared_ptr<const DistrictRegister> districts;
};
absl::StatusOr<Definitions> LoadConfiguredDefinitions(const Config& config);

// InvalidArgument naming the config file when config.closed_waves names a
// wave that `m` does not define.
absl::Status CheckClosedWaves(const Config& config, const Methodology& m);

// InvalidArgument naming the methodology file when its references name a
// wijk or gebied that the register `d` does not have (they would never show).
absl::Status CheckReferences(const Methodology& m, const DistrictRegister& d);

// `st` with the config file and the key whose value it is about named first;
// its code (and so the exit code) is kept.
absl::Status ConfigKeyError(const absl::Status& st, const Config& config, std::string_view key);

// InvalidArgument (naming both hashes and `wijkpuls rebuild --config
// config_path`) when the state directory was built with another methodology
// than `m`; OK when it was built with `m` or holds no hash yet, which with
// `stamp` it then gets (a directory about to be written).
absl::Status CheckStoredMethodology(StateStore& store, const Methodology& m, const std::string& config_path,
                                   bool stamp);

struct DaemonOptions {
  bool exit_at_end = false;  // stop once every assigned partition is read and committed
  // demo: a random key instead of the configured key file.
  bool ephemeral_key = false;
};

class Daemon {
 public:
  // Loads the methodology, register and key, opens the state directory and
  // binds the HTTP port. Nothing is consumed yet.
  static absl::StatusOr<std::unique_ptr<Daemon>> Make(const Config& config, DaemonOptions options);
  ~Daemon();

  int http_port() const;
  int ops_port() const;  // -1: no ops listener
  // Consumes until `stop` (or the end with exit_at_end), then shuts down in
  // order: last batch committed, consumer closed, outputs flushed.
  absl::Status Run(const std::atomic<bool>& stop);
  // Re-reads the district register (SIGHUP). A bad file is refused with a
  // log line and the old register stays. Thread-safe.
  void ReloadDistricts();
  // SIGHUP: the TLS certificate and key (when configured), then the register.
  void Reload();

  struct Parts;

 private:
  Daemon() = default;
  std::unique_ptr<Parts> parts_;
};

// Loads and checks everything `check-config` checks: the config file, the
// methodology, the register, the key file and the listen address.
absl::Status CheckConfig(const Config& config);

}  // namespace wijkpuls
