// json_text.hpp — JSON and HTML text that stays valid whatever bytes went in.
//
// argv, environment values, paths and process names are bytes, not UTF-8.
// Every report procctx writes replaces each byte that is not part of a
// well-formed UTF-8 sequence with U+FFFD (docs/json.md says so), so that
// any strict JSON parser or browser reads it.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace procctx::cli {

// `j` as text: indented by `indent` spaces (-1: one line), invalid UTF-8 replaced.
template <class Json>
std::string json_text(const Json& j, int indent = -1) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

// `s` with every ill-formed UTF-8 sequence replaced by U+FFFD.
std::string valid_utf8(std::string_view s);

}  // namespace procctx::cli
