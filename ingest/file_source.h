// Records from a file of length-delimited wijkpuls.v1.FileRecord (what
// `wijkpuls simulate --out` writes), for `wijkpuls replay`. Each record's
// offset is its index among the file's records of the same topic/partition,
// so a replay resumes where a previous one stopped, exactly like a consumer.
#pragma once

#include <fstream>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "ingest/record_source.h"

namespace wijkpuls {

class FileSource : public RecordSource {
 public:
  static absl::StatusOr<std::unique_ptr<FileSource>> Open(const std::string& path,
                                                          AssignmentHandler* handler);
  std::optional<SourceRecord> Poll(std::chrono::milliseconds timeout) override;
  void Rewind(const OffsetMap& offsets) override;
  void Committed(const OffsetMap&) override {}
  bool AtEnd() const override { return at_end_; }
  std::vector<PartitionProgress> Progress() const override;
  bool Assigned() const override { return true; }
  void Close() override;
  // A malformed file: the first problem found.
  const absl::Status& error() const { return error_; }

 private:
  FileSource(std::string path, AssignmentHandler* handler) : path_(std::move(path)), handler_(handler) {}
  void Restart();

  std::string path_;
  AssignmentHandler* handler_;
  std::ifstream in_;
  OffsetMap start_;                        // skip records before these offsets
  std::map<std::pair<std::string, int32_t>, int64_t> next_;  // next offset per partition in the file
  std::string topic_, key_, value_, content_type_;
  bool at_end_ = false;
  bool started_ = false;
  bool closed_ = false;
  absl::Status error_;
};

}  // namespace wijkpuls
