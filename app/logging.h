// Log setup: plain text (default) or JSON lines, to stderr. Log lines about
// a record name its topic/partition/offset, never answers or respondent refs.
#pragma once

#include <string>

namespace wijkpuls {

// `format` is "text" or "json"; `level` is debug, info, warn or error.
void SetUpLogging(const std::string& format, const std::string& level);

}  // namespace wijkpuls
