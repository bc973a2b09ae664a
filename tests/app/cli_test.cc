// The binary's command line: exit codes and messages an operator sees.
#include <gtest/gtest.h>

#include <filesystem>

#include "tests/support/test_support.h"
#include "validate/text.h"

namespace wijkpuls {
namespace {

using testing::BinaryPath;
using testing::TempDir;

TEST(Cli, CheckConfigAcceptsAGoodConfig) {
  TempDir dir;
  const std::string config = testing::WriteTestConfig(dir, "127.0.0.1:9", testing::FreePort(), "g");
  std::string out;
  EXPECT_EQ(testing::RunCommand({BinaryPath(), "check-config", config}, &out), 0) << out;
  EXPECT_TRUE(Contains(out, ": ok")) << out;
}

TEST(Cli, CheckConfigRejectsABrokenConfigWithExitTwoNamingTheKey) {
  TempDir dir;
  const std::string config = testing::WriteTestConfig(dir, "127.0.0.1:9", 8080, "g", "pipeline:\n  batch_records: -5\n");
  std::string out;
  EXPECT_EQ(testing::RunCommand({BinaryPath(), "check-config", config}, &out), 2);
  EXPECT_TRUE(Contains(out, config)) << out;
  EXPECT_TRUE(Contains(out, "pipeline.batch_records: must be between")) << out;
  EXPECT_FALSE(Contains(out, "terminate called")) << out;  // no stack trace, no abort
}

TEST(Cli, CheckConfigNamesAMissingKeyFile) {
  TempDir dir;
  const std::string config = testing::WriteTestConfig(dir, "127.0.0.1:9", 8080, "g");
  std::filesystem::remove(dir.File("key"));
  std::string out;
  EXPECT_EQ(testing::RunCommand({BinaryPath(), "check-config", config}, &out), 2);
  EXPECT_TRUE(Contains(out, "pseudonymisation_key_file")) << out;
}

TEST(Cli, CheckConfigNamesABrokenMethodology) {
  TempDir dir;
  std::string m = testing::ReadFile(testing::MethodologyPath());
  m = testing::Patched(m, "sigma0: 9 }", "sigma0: -1 }");
  testing::WriteFile(dir.File("m.yaml"), m);
  std::string config = testing::ReadFile(testing::WriteTestConfig(dir, "127.0.0.1:9", 8080, "g"));
  config = testing::WithLine(config, "methodology: ", "methodology: " + dir.File("m.yaml"));
  testing::WriteFile(dir.File("w.yaml"), config);
  std::string out;
  EXPECT_EQ(testing::RunCommand({BinaryPath(), "check-config", dir.File("w.yaml")}, &out), 2);
  EXPECT_TRUE(Contains(out, dir.File("m.yaml") + ": indicators[0].sigma0: must be greater than 0")) << out;
}

TEST(Cli, AMissingConfigFileIsAConfigurationError) {
  std::string out;
  EXPECT_EQ(testing::RunCommand({BinaryPath(), "check-config", "/nonexistent/w.yaml"}, &out), 2);
  EXPECT_TRUE(Contains(out, "/nonexistent/w.yaml")) << out;
}

TEST(Cli, UsageErrorsExitTwo) {
  std::string out;
  EXPECT_EQ(testing::RunCommand({BinaryPath(), "serve"}, &out), 2);
  EXPECT_TRUE(Contains(out, "--config")) << out;
  EXPECT_EQ(testing::RunCommand({BinaryPath(), "no-such-command"}, &out), 2);
}

TEST(Cli, ServeWithoutAKeyFileRefusesToStart) {
  TempDir dir;
  std::string config = testing::ReadFile(testing::WriteTestConfig(dir, "127.0.0.1:9", testing::FreePort(), "g"));
  config = testing::WithLine(config, "pseudonymisation_key_file:", "");
  testing::WriteFile(dir.File("w.yaml"), config);
  std::string out;
  EXPECT_EQ(testing::RunCommand({BinaryPath(), "serve", "--config", dir.File("w.yaml")}, &out, std::chrono::seconds(30)), 2);
  EXPECT_TRUE(Contains(out, "pseudonymisation_key_file: is required")) << out;
}

}  // namespace
}  // namespace wijkpuls
