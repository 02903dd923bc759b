#include "cli/options.h"

#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "cli/commands.h"
#include "engine/error.h"

namespace gkd::cli {

namespace {

std::string to_key(std::string flag) {
  std::replace(flag.begin(), flag.end(), '-', '_');
  return flag;
}

std::string to_flag(std::string key) {
  std::replace(key.begin(), key.end(), '_', '-');
  return "--" + key;
}

// A value quoted in an error message: its JSON text, invalid UTF-8 (a flag value is raw argv bytes)
// replaced rather than thrown on, at most 40 characters.
std::string shown(const nlohmann::json& v) {
  const std::string text = v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return text.size() > 40 ? text.substr(0, 40) + "..." : text;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

}  // namespace

void OptionTable::add(std::string key, int64_t* target, int64_t min, std::string help) {
  options_.push_back(
      {std::move(key), Option::kInt, target, static_cast<double>(min), 0, {}, std::move(help)});
}
void OptionTable::add(std::string key, double* target, double min, double max, std::string help) {
  options_.push_back({std::move(key), Option::kDouble, target, min, max, {}, std::move(help)});
}
void OptionTable::add(std::string key, bool* target, std::string help) {
  options_.push_back({std::move(key), Option::kBool, target, 0, 0, {}, std::move(help)});
}
void OptionTable::add(std::string key, std::string* target, std::vector<std::string> choices,
                      std::string help) {
  options_.push_back(
      {std::move(key), Option::kString, target, 0, 0, std::move(choices), std::move(help)});
}

const OptionTable::Option* OptionTable::find(const std::string& key) const {
  for (const auto& o : options_) {
    if (o.key == key) return &o;
  }
  return nullptr;
}

void OptionTable::set(const Option& o, const nlohmann::json& v, const std::string& at) const {
  switch (o.kind) {
    case Option::kInt: {
      GKD_CHECK(v.is_number_integer(), at, "got ", shown(v), " (expected an integer)");
      GKD_CHECK(!v.is_number_unsigned() || v.get<uint64_t>() <= uint64_t{INT64_MAX}, at, "got ",
                shown(v), " (expected an integer at most ", INT64_MAX, ")");
      const int64_t x = v.get<int64_t>();
      GKD_CHECK(static_cast<double>(x) >= o.min, at, "got ", x, " (expected >= ", o.min, ")");
      *static_cast<int64_t*>(o.target) = x;
      break;
    }
    case Option::kDouble: {
      GKD_CHECK(v.is_number(), at, "got ", shown(v), " (expected a number)");
      const double x = v.get<double>();
      GKD_CHECK(std::isfinite(x) && x >= o.min && x <= o.max, at, "got ", x, " (expected ", o.min,
                " <= value <= ", o.max, ")");
      *static_cast<double*>(o.target) = x;
      break;
    }
    case Option::kBool:
      GKD_CHECK(v.is_boolean(), at, "got ", shown(v), " (expected true or false)");
      *static_cast<bool*>(o.target) = v.get<bool>();
      break;
    case Option::kString: {
      GKD_CHECK(v.is_string(), at, "got ", shown(v), " (expected a string)");
      const std::string x = v.get<std::string>();
      GKD_CHECK(
          o.choices.empty() || std::find(o.choices.begin(), o.choices.end(), x) != o.choices.end(),
          at, "got \"", x, "\" (expected one of ", join(o.choices), ")");
      *static_cast<std::string*>(o.target) = x;
      break;
    }
  }
}

void OptionTable::apply_json(const nlohmann::json& object, const std::string& where) {
  GKD_CHECK(object.is_object(), where, ": expected a JSON object at the top level");
  for (const auto& [key, value] : object.items()) {
    const Option* o = find(key);
    GKD_CHECK(
        o, where, ": ", key, ": unknown key (expected one of: ",
        [&] {
          std::vector<std::string> keys;
          for (const auto& x : options_) keys.push_back(x.key);
          return join(keys);
        }(),
        ")");
    set(*o, value, where + ": key " + key + ": ");
  }
}

bool OptionTable::has_flag(const std::string& flag) const {
  return find(to_key(flag)) != nullptr;
}

void OptionTable::apply_flag(const std::string& flag, const std::string& text) {
  const Option* o = find(to_key(flag));
  if (!o) throw UsageError("unknown option --" + flag);
  nlohmann::json v;
  if (o->kind == Option::kString) {
    v = text;
  } else {
    v = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (v.is_discarded()) v = text;  // reported below as the wrong type
  }
  try {
    set(*o, v, "option " + to_flag(o->key) + ": ");
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
}

nlohmann::json OptionTable::to_json() const {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& o : options_) {
    switch (o.kind) {
      case Option::kInt:
        j[o.key] = *static_cast<const int64_t*>(o.target);
        break;
      case Option::kDouble:
        j[o.key] = *static_cast<const double*>(o.target);
        break;
      case Option::kBool:
        j[o.key] = *static_cast<const bool*>(o.target);
        break;
      case Option::kString:
        j[o.key] = *static_cast<const std::string*>(o.target);
        break;
    }
  }
  return j;
}

std::string OptionTable::help() const {
  std::string s;
  const nlohmann::json defaults = to_json();
  for (const auto& o : options_) {
    const char* meta = o.kind == Option::kInt      ? " N"
                       : o.kind == Option::kDouble ? " X"
                       : o.kind == Option::kBool   ? " true|false"
                                                   : " S";
    std::string text = o.help;
    if (!o.choices.empty()) text += " (" + join(o.choices) + ")";
    s += fmt::format("  {:<26} {} [default {}]\n", to_flag(o.key) + meta, text,
                     defaults[o.key].dump());
  }
  return s;
}

}  // namespace gkd::cli
