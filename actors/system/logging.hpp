#pragma once

#include <spdlog/logger.h>

#include <memory>
#include <string>

namespace centralita::actors {

/// The named loggers (STYLE.md §14), sharing one terminal sink. Passed
/// explicitly to whoever logs: no registry lookups on the data path.
struct loggers {
  std::shared_ptr<spdlog::logger> app;
  std::shared_ptr<spdlog::logger> config;
  std::shared_ptr<spdlog::logger> reactor;
  std::shared_ptr<spdlog::logger> sip;
  std::shared_ptr<spdlog::logger> txn;
  std::shared_ptr<spdlog::logger> script;
};

/// Loggers writing to stderr (colour when it is a terminal) at `level`
/// ("trace" ... "off"; "warning" is taken for "warn").
loggers make_loggers(const std::string& level);

} // namespace centralita::actors
