// The JSON API over the committed state. Quota snapshots and scores are the
// wire messages of the output topics in the protobuf JSON mapping (field
// names as in the .proto), so the API and the topics cannot disagree.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "process/state_hub.h"
#include "publish/views.h"

namespace wijkpuls {

struct ApiResponse {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  // Names the content (a SHA-256 of the media type and the body): equal
  // exactly when the bytes are, whatever the state's version, the process or
  // the instance that answers (a commit that changes nothing in a document
  // leaves its ETag, so a client polling it keeps getting 304).
  std::string etag;
  // The input the figures reflect (header Wijkpuls-Input-Offsets): per
  // responses partition, the next offset counted, "partition=offset" joined
  // by commas; with several instances, their summaries' positions.
  std::string input_offsets;
};

struct ApiOptions {
  ViewSettings views;
};

class Api {
 public:
  Api(const StateHub& hub, ApiOptions options);

  // `wave` empty: the latest configured wave that has data (or the last one).
  ApiResponse Quotas(const std::string& wave);
  ApiResponse Quota(const std::string& wijk, const std::string& wave);
  ApiResponse Scores(const std::string& wave);
  ApiResponse Score(const std::string& level, const std::string& unit, const std::string& wave);
  ApiResponse Quality(const std::string& wave);
  // Cumulative net per day against the even-pace line, per instrument, of a
  // wijk, gebied or the city (score/pace.h).
  ApiResponse Pace(const std::string& level, const std::string& unit, const std::string& wave);

 private:
  // Computes (or takes from the cache of the current version) one document.
  ApiResponse Cached(const std::string& key, const std::function<ApiResponse(const CommittedState&)>& make);

  const StateHub& hub_;
  ApiOptions options_;
  std::mutex mu_;
  uint64_t cache_version_ = 0;
  std::map<std::string, ApiResponse> cache_;
};

// RFC 9110 13.1.2: whether If-None-Match (every value of the field, joined
// with commas) matches `etag` by weak comparison: "*", or any entity-tag of
// the list equal to it with W/ set aside on both.
bool IfNoneMatchHits(std::string_view if_none_match, std::string_view etag);

// The strong entity-tag of a representation: '"' + 32 hex digits + '"', the
// first 128 bits of SHA-256(content_type || 0x00 || body).
std::string ContentETag(std::string_view content_type, std::string_view body);

}  // namespace wijkpuls
