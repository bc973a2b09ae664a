// wijkpuls: one binary, sub-commands as in docs/contract.md.
#include <CLI/CLI.hpp>

#include <iostream>

#include "app/commands.h"
#include "app/daemon.h"

int main(int argc, char** argv) {
  using namespace wijkpuls;  // NOLINT
  CLI::App app{"wijkpuls: fieldwork daemon of a neighbourhood survey (quotas, quality, provisional scores)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string(WIJKPULS_VERSION));

  ServeArgs serve;
  auto* s = app.add_subcommand("serve", "Run the daemon");
  s->add_option("--config", serve.config, "Configuration file (YAML)")->required();
  s->add_flag("--exit-at-end", serve.exit_at_end, "Stop once every assigned partition is read and committed");
  s->add_option("--log-format", serve.log_format, "text or json (default: the config's)")
      ->check(CLI::IsMember({"text", "json"}));
  s->add_option("--log-level", serve.log_level, "debug, info, warn or error")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));

  DemoArgs demo;
  auto* d = app.add_subcommand("demo", "Everything on this machine: a mock Kafka cluster, a simulated season, the daemon and its page");
  d->add_option("--records", demo.records, "About how many records to simulate")->check(CLI::Range(100, 5'000'000));
  d->add_option("--seed", demo.seed, "Seed of the simulated season");
  d->add_option("--duration", demo.duration_seconds, "Seconds of real time the season is spread over (0: as fast as possible)")
      ->check(CLI::Range(0.0, 86400.0));
  d->add_option("--listen", demo.listen, "HTTP address");
  d->add_option("--instances", demo.instances,
                 "wijkpuls instances sharing the work (more than 1: the others are child processes; kill one and watch "
                 "its wijken move)")
      ->check(CLI::Range(1, 8));
  d->add_option("--state-dir", demo.state_dir, "Keep the demo's files here (default: a temporary directory)");
  d->add_option("--log-format", demo.log_format, "text or json")->check(CLI::IsMember({"text", "json"}));

  SimulateArgs sim;
  auto* m = app.add_subcommand("simulate", "Write a realistic simulated fieldwork season to Kafka or a file");
  m->add_option("--records", sim.records, "About how many records")->check(CLI::Range(100, 50'000'000));
  m->add_option("--scale", sim.scale, "Multiplier of the register's gross sample (overrides --records)")
      ->check(CLI::Range(0.001, 1000.0));
  m->add_option("--seed", sim.seed, "Seed");
  m->add_option("--out", sim.out, "Record file to write (for `replay`)");
  m->add_option("--brokers", sim.brokers, "Kafka bootstrap servers to produce to");
  m->add_option("--responses-topic", sim.responses_topic, "Topic of responses");
  m->add_option("--withdrawals-topic", sim.withdrawals_topic, "Topic of withdrawals");
  m->add_option("--truth", sim.truth, "Write what the simulator meant (counts per outcome, reason, flag, cell) as JSON");
  m->add_option("--duration", sim.duration_seconds, "Spread the season over this many seconds (0: as fast as possible)");
  m->add_option("--json-share", sim.json_share, "Share of records in the protobuf JSON mapping")->check(CLI::Range(0.0, 1.0));
  m->add_option("--json-names", sim.json_names,
                "Field names of JSON records: camel (as protobuf prints them) or proto (the .proto's snake_case)")
      ->check(CLI::IsMember({"camel", "proto"}));
  m->add_option("--methodology", sim.methodology, "Methodology file (default: built-in)");
  m->add_option("--districts", sim.districts, "District register (default: built-in)");

  ReplayArgs replay;
  auto* r = app.add_subcommand("replay", "Process a record file through the same pipeline");
  r->add_option("file", replay.file, "Record file (from `simulate --out`)")->required();
  r->add_option("--config", replay.config, "Configuration file")->required();
  r->add_option("--state-dir", replay.state_dir, "State directory (overrides the config)");
  r->add_option("--rejected-out", replay.rejected_out, "Dead letters file (default FILE.rejected)");
  r->add_option("--snapshots-out", replay.snapshots_out,
                "Directory: write the quota snapshots and scores at the end as JSON lines (quota.jsonl, scores.jsonl)");
  r->add_flag("--ephemeral-key", replay.ephemeral_key, "Pseudonymise with a random key (tests, benchmarks)");

  std::string check_file;
  auto* c = app.add_subcommand("check-config", "Validate a configuration file and what it names");
  c->add_option("file", check_file, "Configuration file")->required();

  ReportArgs quotas, scores;
  auto* q = app.add_subcommand("quotas", "Print quota state as a table or JSON");
  auto* sc = app.add_subcommand("scores", "Print provisional scores as a table or JSON");
  for (auto [cmd, args] : {std::pair{q, &quotas}, std::pair{sc, &scores}}) {
    cmd->add_option("--url", args->url, "A running daemon, e.g. http://127.0.0.1:8080");
    cmd->add_option("--token-file", args->token_file,
                    "With --url: a file holding the daemon's bearer token (http.bearer_token_file)");
    cmd->add_option("--config", args->config, "Or read the state directory of this configuration");
    cmd->add_option("--state-dir", args->state_dir, "State directory (overrides the config)");
    cmd->add_option("--wave", args->wave, "Wave (default: the latest with data)");
    cmd->add_flag("--json", args->json, "Print the API's JSON");
  }
  sc->add_option("--level", scores.level, "One unit: wijk, gebied or stad");
  sc->add_option("--unit", scores.unit, "One unit: its id");
  q->add_option("--sort", quotas.sort, "Order of the wijken: risk (riskiest first, as the page), status, name or gebied")
      ->check(CLI::IsMember({"risk", "status", "name", "gebied"}));
  q->add_flag("--wide", quotas.wide, "One line per wijk, with its gebied (the default fits 120 columns)");

  std::string rebuild_config, rebuild_state;
  auto* b = app.add_subcommand("rebuild", "Recompute quota counts and statistics from the stored responses");
  b->add_option("--config", rebuild_config, "Configuration file")->required();
  b->add_option("--state-dir", rebuild_state, "State directory (overrides the config)");

  DevClusterArgs dev;
  auto* dc = app.add_subcommand("dev-cluster", "Run a mock Kafka cluster on loopback (development and manual tests)");
  dc->add_option("--brokers", dev.brokers, "Number of brokers")->check(CLI::Range(1, 9));
  dc->add_option("--partitions", dev.partitions, "Partitions per topic")->check(CLI::Range(1, 256));

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitConfig;
  }
  if (*s) return ServeCommand(serve);
  if (*d) return DemoCommand(demo);
  if (*m) return SimulateCommand(sim);
  if (*r) return ReplayCommand(replay);
  if (*c) return CheckConfigCommand(check_file);
  if (*q) return QuotasCommand(quotas);
  if (*sc) return ScoresCommand(scores);
  if (*b) return RebuildCommand(rebuild_config, rebuild_state);
  if (*dc) return DevClusterCommand(dev);
  return kExitConfig;
}
