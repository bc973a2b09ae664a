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
#include "process/record_source.h"

namespace wijkpuls {

namespace v1 {
class FileRecord;
}

class FileSource : public RecordSource {
 public:
  // Whether `path` can be opened as a record file (it exists, is readable and
  // is not a directory): replay checks it before it opens the state.
  static absl::Status CheckInput(const std::string& path);
  static absl::StatusOr<std::unique_ptr<FileSource>> Open(const std::string& path,
                                                          AssignmentHandler* handler);
  ~FileSource() override;
  // The largest record read from a source that is not a regular file (a
  // pipe), whose size is not known in advance.
  static constexpr int64_t kMaxRecordBytes = 64 << 20;
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
  FileSource(std::string path, AssignmentHandler* handler);
  void Restart();

  std::string path_;
  AssignmentHandler* handler_;
  std::ifstream in_;
  OffsetMap start_;                        // skip records before these offsets
  std::map<std::pair<std::string, int32_t>, int64_t> next_;  // next offset per partition in the file
  // The partition of the record read last (records come in runs of one):
  // its entry of next_ and its start offset. Null whenever next_ is cleared.
  int64_t* last_next_ = nullptr;
  std::string last_topic_;
  int32_t last_partition_ = 0;
  int64_t last_start_ = 0;
  // The record read last, into reused buffers: the SourceRecord Poll returns
  // views of its fields (until the next Poll), and nothing is copied twice.
  std::string buf_;
  std::unique_ptr<v1::FileRecord> record_;
  int64_t file_size_ = -1;  // -1: not a regular file
  int64_t position_ = 0;    // bytes read so far
  bool at_end_ = false;
  bool started_ = false;
  bool closed_ = false;
  absl::Status error_;
};

}  // namespace wijkpuls
