// The API's OpenAPI 3.1 description, served at /api/v1/openapi.json:
// serve/openapi.json (paths, parameters, errors and the documents the API
// assembles), with the schemas of the wire messages (QuotaSnapshot,
// ProvisionalScores and what they hold) and of the enums generated from the
// .proto descriptors and the model's value lists this binary was built with,
// so a field added to a message is described without anyone editing the file.
#pragma once

#include <string>

namespace wijkpuls {

const std::string& OpenApiDocument();

}  // namespace wijkpuls
