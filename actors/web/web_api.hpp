#pragma once

// The JSON API, /metrics and the dashboard's files (docs/api.md): what an
// http_session answers to a plain (non-upgrade) request.

#include "actors/web/web_server.hpp"
#include "protocols/http/request_parser.hpp"
#include "protocols/http/response.hpp"

#include <caf/event_based_actor.hpp>

#include <functional>
#include <optional>
#include <string_view>

namespace centralita::actors {

using respond_fn = std::function<void(http::response)>;

/// Answers `req` through `respond` (called exactly once; maybe later, from
/// `self`'s own message handlers, when the answer needs other actors).
void answer_request(caf::event_based_actor* self, const web_context& ctx, const http::request& req,
                    respond_fn respond);

/// The Prometheus exposition of every counter and histogram.
std::string render_metrics(const web_context& ctx);

/// An embedded file of web/ ("/" is index.html), or nullopt.
struct asset {
  std::string_view content_type;
  std::string_view body;
};
std::optional<asset> find_asset(std::string_view path);

} // namespace centralita::actors
