#include "actors/system/logging.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace centralita::actors {

loggers make_loggers(const std::string& level_name) {
  auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  auto level = spdlog::level::from_str(level_name == "warning" ? "warn" : level_name);
  auto make = [&](const char* name) {
    auto l = std::make_shared<spdlog::logger>(name, sink);
    l->set_level(level);
    l->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ [%n] %v");
    l->flush_on(spdlog::level::warn);
    return l;
  };
  return loggers{make("app"), make("config"), make("reactor"), make("sip"), make("txn"),
                 make("script")};
}

} // namespace centralita::actors
