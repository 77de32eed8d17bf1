// See logging.h.
#include "common/logging.h"

#include <spdlog/sinks/stdout_sinks.h>

#include <cstdlib>

namespace kv2pc {

Status InitLogging(std::string_view node_name, std::string_view level) {
  auto lvl = spdlog::level::from_str(std::string(level));
  if (lvl == spdlog::level::off && level != "off") {
    return Status::InvalidArgument("unknown log level '" + std::string(level) +
                                   "' (trace, debug, info, warn, error, critical, off)");
  }
  auto logger = spdlog::stderr_logger_mt(std::string("kv2pc-") + std::string(node_name));
  logger->set_pattern("%Y-%m-%d %H:%M:%S.%e [" + std::string(node_name) + "] %l: %v");
  logger->set_level(lvl);
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(logger);
  return Status::OK();
}

void FailStop(std::string_view why) {
  spdlog::critical("{}; exiting so that recovery can take over", why);
  spdlog::shutdown();
  std::_Exit(70);
}

void CheckFailed(const char* file, int line, const char* expr, std::string_view msg) {
  spdlog::critical("CHECK failed at {}:{}: {}: {}", file, line, expr, msg);
  spdlog::shutdown();
  std::abort();
}

}  // namespace kv2pc
