// One table of named options that a JSON config file and command-line flags both set: the config
// key "weight_decay" is the flag --weight-decay, parsed and validated by the same code, and the
// resolved table is written back as JSON (the run directory's config.json).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace gkd::cli {

class OptionTable {
 public:
  void add(std::string key, int64_t* target, int64_t min, std::string help);
  void add(std::string key, double* target, double min, double max, std::string help);
  void add(std::string key, bool* target, std::string help);
  // A string, restricted to `choices` when they are given.
  void add(std::string key, std::string* target, std::vector<std::string> choices,
           std::string help);

  // Sets every key of a JSON object; an unknown key or a value of the wrong type is a gkd::Error
  // naming `where` (the file), the key and what was expected.
  void apply_json(const nlohmann::json& object, const std::string& where);
  // Sets one option from a flag name ("weight-decay" or "weight_decay") and its text value; throws
  // UsageError on an unknown flag or a bad value.
  bool has_flag(const std::string& flag) const;
  void apply_flag(const std::string& flag, const std::string& value);

  nlohmann::json to_json() const;
  std::string help() const;  // one line per option: "  --weight-decay X   ... (default 0.0005)"

 private:
  struct Option {
    std::string key;
    enum Kind { kInt, kDouble, kBool, kString } kind;
    void* target;
    double min = 0, max = 0;
    std::vector<std::string> choices;
    std::string help;
  };
  const Option* find(const std::string& key) const;
  // `at` opens the error message ("cora.json: key lr: " or "option --lr: ").
  void set(const Option& o, const nlohmann::json& value, const std::string& at) const;
  std::vector<Option> options_;
};

}  // namespace gkd::cli
