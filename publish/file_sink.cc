#include "publish/file_sink.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "model/text.h"
#include "publish/views_json.h"

namespace wijkpuls {

absl::StatusOr<std::unique_ptr<FileSink>> FileSink::Open(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::InvalidArgumentError(Cat("snapshots directory ", dir, ": ", ec.message()));
  int fds[2];
  const char* names[2] = {"quota.jsonl", "scores.jsonl"};
  for (int i = 0; i < 2; ++i) {
    const std::string path = Cat(dir, "/", names[i]);
    fds[i] = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fds[i] < 0) {
      const std::string why = std::strerror(errno);
      if (i == 1) ::close(fds[0]);
      return absl::InvalidArgumentError(Cat("snapshots file ", path, ": ", why));
    }
  }
  return std::unique_ptr<FileSink>(new FileSink(fds[0], fds[1], dir));
}

FileSink::~FileSink() {
  for (int fd : fds_) ::close(fd);
}

absl::Status FileSink::Send(const OutputRecord& record, uint64_t id) {
  if (record.kind == OutputRecord::Kind::kSummary) {
    // Summaries are for other instances, not for the index pipeline.
    written_.push_back(Delivery{id, true, ""});
    return absl::OkStatus();
  }
  std::string value;
  if (record.kind == OutputRecord::Kind::kQuota) {
    v1::QuotaSnapshot s;
    if (!s.ParseFromString(record.value)) return absl::InternalError(Cat("a quota snapshot of ", record.key, " is not one"));
    value = QuotaJson(s);
  } else {
    v1::ProvisionalScores s;
    if (!s.ParseFromString(record.value)) return absl::InternalError(Cat("the scores of ", record.key, " are not"));
    value = ScoresJson(s);
  }
  // Keys are "<wave>/<wijk>" or "<wave>/<level>/<unit>": ids of the
  // methodology and the register, which need no escaping in JSON.
  const std::string line = Cat("{\"key\":\"", record.key, "\",\"value\":", value, "}\n");
  const int fd = fds_[record.kind == OutputRecord::Kind::kQuota ? 0 : 1];
  size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(fd, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      written_.push_back(Delivery{id, false, Cat("writing to ", dir_, ": ", std::strerror(errno))});
      return absl::OkStatus();  // reported as a failed delivery, retried by the publisher
    }
    done += static_cast<size_t>(n);
  }
  written_.push_back(Delivery{id, true, ""});
  return absl::OkStatus();
}

std::vector<Delivery> FileSink::Poll(std::chrono::milliseconds) {
  std::vector<Delivery> out;
  out.swap(written_);
  return out;
}

}  // namespace wijkpuls
