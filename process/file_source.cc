#include "process/file_source.h"

#include <unistd.h>

#include <filesystem>
#include <system_error>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>

#include "validate/decode.h"
#include "model/text.h"
#include "wijkpuls/v1/record_file.pb.h"

namespace wijkpuls {

absl::Status FileSource::CheckInput(const std::string& path) {
  std::error_code ec;
  const std::filesystem::file_status st = std::filesystem::status(path, ec);
  if (ec || !std::filesystem::exists(st)) return absl::NotFoundError(Cat(path, ": cannot be read"));
  if (std::filesystem::is_directory(st)) {
    return absl::InvalidArgumentError(Cat(path, ": is a directory, not a record file"));
  }
  if (::access(path.c_str(), R_OK) != 0) return absl::NotFoundError(Cat(path, ": cannot be read"));
  return absl::OkStatus();
}

FileSource::FileSource(std::string path, AssignmentHandler* handler)
    : path_(std::move(path)), handler_(handler), record_(std::make_unique<v1::FileRecord>()) {}

FileSource::~FileSource() = default;

absl::StatusOr<std::unique_ptr<FileSource>> FileSource::Open(const std::string& path,
                                                             AssignmentHandler* handler) {
  if (absl::Status st = CheckInput(path); !st.ok()) return st;
  std::unique_ptr<FileSource> s(new FileSource(path, handler));
  s->in_.open(path, std::ios::binary);
  if (!s->in_) return absl::NotFoundError(Cat(path, ": cannot be read"));
  std::error_code ec;
  if (std::filesystem::is_regular_file(path, ec)) {
    const std::uintmax_t size = std::filesystem::file_size(path, ec);
    if (!ec) s->file_size_ = static_cast<int64_t>(size);
  }
  return s;
}

void FileSource::Restart() {
  in_.clear();
  in_.seekg(0);
  position_ = 0;
  next_.clear();
  last_next_ = nullptr;
  at_end_ = false;
}

std::optional<SourceRecord> FileSource::Poll(std::chrono::milliseconds) {
  if (closed_) return std::nullopt;
  if (!started_) {
    started_ = true;
    start_ = handler_->OnAssign({});
  }
  v1::FileRecord& fr = *record_;
  while (!at_end_) {
    // Read one varint length, then the record.
    uint32_t size = 0;
    int shift = 0;
    int c = 0;
    bool eof = false;
    while (true) {
      c = in_.get();
      if (c == std::char_traits<char>::eof()) {
        eof = true;
        break;
      }
      ++position_;
      size |= static_cast<uint32_t>(c & 0x7f) << shift;
      if ((c & 0x80) == 0) break;
      shift += 7;
      if (shift > 28) {
        error_ = absl::DataLossError(Cat(path_, ": a record length is malformed"));
        eof = true;
        break;
      }
    }
    if (eof) {
      if (shift > 0 && error_.ok()) error_ = absl::DataLossError(Cat(path_, ": the file ends inside a record"));
      at_end_ = true;
      return std::nullopt;
    }
    // A length is checked before anything is allocated for it: against what
    // is left of a regular file, and against kMaxRecordBytes otherwise.
    const int64_t left = file_size_ >= 0 ? file_size_ - position_ : kMaxRecordBytes;
    if (static_cast<int64_t>(size) > left) {
      error_ = absl::DataLossError(Cat(path_, ": a record length (", size, " bytes) runs past the end of the file"));
      at_end_ = true;
      return std::nullopt;
    }
    buf_.resize(size);
    position_ += size;
    if (!in_.read(buf_.data(), size) || !fr.ParseFromString(buf_)) {
      error_ = absl::DataLossError(Cat(path_, ": a record is truncated or malformed"));
      at_end_ = true;
      return std::nullopt;
    }
    if (last_next_ == nullptr || fr.partition() != last_partition_ || fr.topic() != last_topic_) {
      last_topic_ = fr.topic();
      last_partition_ = fr.partition();
      const std::pair<std::string, int32_t> tp{fr.topic(), fr.partition()};
      last_next_ = &next_[tp];
      auto st = start_.find(tp);
      last_start_ = st != start_.end() ? st->second : 0;
    }
    const int64_t offset = (*last_next_)++;
    if (offset < last_start_) continue;  // committed before
    SourceRecord r;
    r.topic = fr.topic();
    r.partition = fr.partition();
    r.offset = offset;
    r.key = fr.key();
    r.value = fr.value();
    r.content_type = fr.content_type();
    // As produced to Kafka (sim/season_output.cc): the content-type its only header.
    r.header_bytes = fr.content_type().empty()
                         ? 0
                         : static_cast<int64_t>(kContentTypeHeader.size() + fr.content_type().size());
    return r;
  }
  return std::nullopt;
}

void FileSource::Rewind(const OffsetMap& offsets) {
  start_ = offsets;
  Restart();
}

std::vector<PartitionProgress> FileSource::Progress() const {
  std::vector<PartitionProgress> out;
  for (const auto& [tp, next] : next_) {
    PartitionProgress p;
    p.tp = TopicPartition{tp.first, tp.second};
    p.high_watermark = at_end_ ? next : -1;
    p.at_end = at_end_;
    out.push_back(p);
  }
  return out;
}

void FileSource::Close() {
  if (closed_) return;
  closed_ = true;
  handler_->OnRevoke({});
}

}  // namespace wijkpuls
