// Fuzz target config: a `gkd train` JSON config, parsed by nlohmann without exceptions and applied
// to the train option table, as `gkd train --config FILE` does; then each top-level key is applied
// again as a command-line flag (--key VALUE, the value's JSON text or the string itself) and the
// resolved table is written back as JSON, as the run directory's config.json. An input that is not
// JSON is read as one command-line flag instead, "NAME=VALUE" (arbitrary bytes in VALUE), applied
// with OptionTable::apply_flag as `gkd train --NAME VALUE` does.
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

#include "cli/commands.h"
#include "cli/options.h"
#include "cli/train_common.h"
#include "engine/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const nlohmann::json j = nlohmann::json::parse(data, data + size, nullptr,
                                                 /*allow_exceptions=*/false);
  gkd::cli::TrainConfig config;
  gkd::cli::OptionTable table = gkd::cli::make_train_table(config);
  if (j.is_discarded()) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    const size_t eq = text.find('=');
    if (eq == std::string::npos) return 0;
    try {
      if (table.has_flag(text.substr(0, eq)))
        table.apply_flag(text.substr(0, eq), text.substr(eq + 1));
    } catch (const gkd::Error&) {
    } catch (const gkd::cli::UsageError&) {
    }
    (void)gkd::cli::train_config_json(config);
    return 0;
  }
  try {
    table.apply_json(j, "fuzz.json");
  } catch (const gkd::Error&) {
  } catch (const gkd::cli::UsageError&) {
  }
  if (j.is_object()) {
    for (const auto& [key, value] : j.items()) {
      try {
        if (table.has_flag(key)) {
          table.apply_flag(
              key, value.is_string()
                       ? value.get<std::string>()
                       : value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
        }
      } catch (const gkd::Error&) {
      } catch (const gkd::cli::UsageError&) {
      }
    }
  }
  (void)gkd::cli::train_config_json(config);
  return 0;
}
