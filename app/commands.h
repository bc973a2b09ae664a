// The sub-commands of `wijkpuls`. Each returns the process exit code and
// prints its errors as "wijkpuls <command>: <what is wrong>".
#pragma once

#include <cstdint>
#include <string>

namespace wijkpuls {

struct ServeArgs {
  std::string config;
  bool exit_at_end = false;
  std::string log_format;  // overrides the config when set
  std::string log_level;
};
int ServeCommand(const ServeArgs& args);

struct DemoArgs {
  int64_t records = 30000;
  uint64_t seed = 2024;
  double duration_seconds = 300;  // the season is spread over this much real time
  std::string listen = "127.0.0.1:8080";
  std::string state_dir;  // empty: a fresh temporary directory
  std::string log_format = "text";
  // Instances in the consumer group: this process and instances - 1 child
  // `wijkpuls serve` processes (each a PID that can be killed).
  int instances = 1;
};
int DemoCommand(const DemoArgs& args);

struct SimulateArgs {
  int64_t records = 30000;
  double scale = 0;  // overrides records when set
  uint64_t seed = 1;
  std::string out;        // a record file
  std::string brokers;    // or produce to Kafka
  std::string responses_topic = "wijkprofiel.responses.v1";
  std::string withdrawals_topic = "wijkprofiel.withdrawals.v1";
  std::string truth;      // a JSON summary of what was meant
  double duration_seconds = 0;
  double json_share = 0.1;
  std::string json_names = "camel";
  std::string methodology;  // empty: the built-in default
  std::string districts;
};
int SimulateCommand(const SimulateArgs& args);

struct ReplayArgs {
  std::string file;
  std::string config;
  std::string state_dir;     // overrides the config
  std::string rejected_out;  // dead letters file; default FILE.rejected
  std::string snapshots_out; // a directory: the final quota snapshots and scores as JSON lines
  bool ephemeral_key = false;
};
int ReplayCommand(const ReplayArgs& args);

int CheckConfigCommand(const std::string& file);

struct ReportArgs {
  std::string url;     // a running daemon, e.g. http://127.0.0.1:8080
  std::string token_file;  // with url: the bearer token, if the API asks for one
  std::string config;  // or a state directory through its config
  std::string state_dir;
  std::string wave;
  bool json = false;
  std::string level;   // scores: one unit
  std::string unit;
  std::string sort = "risk";  // quotas: risk, status, name or gebied
  bool wide = false;          // quotas: one line per wijk, with the gebied
};
int QuotasCommand(const ReportArgs& args);
int ScoresCommand(const ReportArgs& args);

int RebuildCommand(const std::string& config, const std::string& state_dir);

struct DevClusterArgs {
  int brokers = 1;
  int partitions = 8;
};
int DevClusterCommand(const DevClusterArgs& args);

// The built-in default methodology and register (config/), for demo and simulate.
const std::string& DefaultMethodologyYaml();
const std::string& DefaultDistrictsCsv();

}  // namespace wijkpuls
