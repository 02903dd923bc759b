// TU Dortmund text loader. Each file is read whole and parsed as a table of comma-separated
// numbers (one row per line, every row the same width); every cross-file rule is then checked
// before anything is built, so a bad file never leaves a half-built dataset behind.
#include "engine/io/tu.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "engine/error.h"

namespace gkd::io {

namespace {

namespace fs = std::filesystem;

// A read-only table: rows x cols values, row-major.
template <class T>
struct Table {
  int64_t rows = 0;
  int64_t cols = 0;
  std::vector<T> values;
  T at(int64_t r, int64_t c) const { return values[static_cast<size_t>(r * cols + c)]; }
};

std::string read_text(const std::string& path) {
  GKD_CHECK(fs::is_regular_file(path), path, ": required file is missing");
  std::ifstream in(path, std::ios::binary);
  GKD_CHECK(in.good(), path, ": cannot be opened");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  GKD_CHECK(!in.bad(), path, ": read failed");
  return text;
}

std::string_view trim(std::string_view s) {
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

template <class T>
bool parse_number(std::string_view s, T& out) {
  const char* end = s.data() + s.size();
  const auto [ptr, ec] = std::from_chars(s.data(), end, out);
  if (ec != std::errc() || ptr != end) return false;
  if constexpr (std::is_floating_point_v<T>) return std::isfinite(out);
  return true;
}

// Parses `text` (the content of `path`) into a table. `width` > 0 fixes the number of fields per
// line; 0 takes it from line 1. Trailing blank lines are allowed; blank lines elsewhere are not.
template <class T>
Table<T> parse_table(const std::string& path, const std::string& text, int64_t width) {
  Table<T> t;
  t.cols = width;
  // Trailing blank lines (and a final newline) end the table; blank lines elsewhere are errors.
  const size_t last = text.find_last_not_of(" \t\r\n");
  std::string_view rest =
      last == std::string::npos ? std::string_view() : std::string_view(text).substr(0, last + 1);
  int64_t line_no = 0;
  while (!rest.empty()) {
    const size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    ++line_no;
    GKD_CHECK(!trim(line).empty(), path, ": line ", line_no, ": empty line");
    int64_t field = 0;
    while (true) {
      const size_t comma = line.find(',');
      const std::string_view token = trim(line.substr(0, comma));
      ++field;
      GKD_CHECK(!token.empty(), path, ": line ", line_no, ", field ", field, ": empty field");
      T value{};
      GKD_CHECK(parse_number(token, value), path, ": line ", line_no, ", field ", field, ": '",
                token.substr(0, 40), "' is not ",
                std::is_floating_point_v<T> ? "a finite number" : "an integer");
      t.values.push_back(value);
      if (comma == std::string_view::npos) break;
      line.remove_prefix(comma + 1);
    }
    if (t.cols == 0) t.cols = field;
    GKD_CHECK(field == t.cols, path, ": line ", line_no, " has ", field,
              " comma-separated fields (expected ", t.cols, width > 0 ? "" : ", as on line 1", ")");
    ++t.rows;
  }
  return t;
}

template <class T>
Table<T> read_table(const std::string& path, int64_t width) {
  return parse_table<T>(path, read_text(path), width);
}

void check_rows(const std::string& path, int64_t rows, int64_t expected, const char* what) {
  GKD_CHECK(rows == expected, path, ": has ", rows, " lines (expected ", expected, ", one per ",
            what, ")");
}

// Sorted distinct values of column c, for remapping a raw value to its rank.
std::vector<int64_t> distinct(const Table<int64_t>& t, int64_t c) {
  std::vector<int64_t> v(static_cast<size_t>(t.rows));
  for (int64_t r = 0; r < t.rows; ++r) v[r] = t.at(r, c);
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

int64_t rank_of(const std::vector<int64_t>& sorted, int64_t value) {
  return std::lower_bound(sorted.begin(), sorted.end(), value) - sorted.begin();
}

}  // namespace

GraphDataset load_tu(const std::string& folder, const TuOptions& options) {
  fs::path dir(folder);
  if (dir.filename().empty()) dir = dir.parent_path();  // "…/MUTAG/"
  const std::string name = dir.filename().string();
  GKD_CHECK(!name.empty(), "[load_tu] folder '", folder, "' has no basename to name the files");
  const auto file = [&](const char* suffix) { return (dir / (name + "_" + suffix)).string(); };

  // Nodes and graphs: graph ids must run 1, 1, ..., 2, ..., G without gaps.
  const std::string gi_path = file("graph_indicator.txt");
  const Table<int64_t> gi = read_table<int64_t>(gi_path, 1);
  const int64_t n = gi.rows;
  GKD_CHECK(n > 0, gi_path, ": has no lines (expected one graph id per node)");
  std::vector<int64_t> node_offsets = {0};  // [G + 1]
  GKD_CHECK(gi.values[0] == 1, gi_path, ": line 1, field 1: graph id ", gi.values[0],
            " (expected 1: graph ids are 1-based)");
  for (int64_t v = 1, current = 1; v < n; ++v) {
    const int64_t g = gi.values[v];
    if (g == current) continue;
    GKD_CHECK(g == current + 1, gi_path, ": line ", v + 1, ", field 1: graph id ", g, " follows ",
              current, " (expected ", current, " or ", current + 1,
              ": ids must be non-decreasing and contiguous)");
    node_offsets.push_back(v);
    current = g;
  }
  node_offsets.push_back(n);
  const int64_t num_graphs = static_cast<int64_t>(node_offsets.size()) - 1;
  // graph_of[v]: 0-based graph of 0-based node v.
  std::vector<int32_t> graph_of(static_cast<size_t>(n));
  for (int64_t v = 0; v < n; ++v) graph_of[v] = static_cast<int32_t>(gi.values[v] - 1);

  // Graph labels, remapped to ranks of the sorted distinct values.
  const std::string gl_path = file("graph_labels.txt");
  const Table<int64_t> gl = read_table<int64_t>(gl_path, 1);
  check_rows(gl_path, gl.rows, num_graphs, "graph in graph_indicator.txt");
  const std::vector<int64_t> classes = distinct(gl, 0);

  // Edges, bucketed by graph as graph-local (src, dst) pairs.
  const std::string a_path = file("A.txt");
  const Table<int64_t> a = read_table<int64_t>(a_path, 2);
  std::vector<std::vector<std::pair<int32_t, int32_t>>> edges(static_cast<size_t>(num_graphs));
  for (int64_t e = 0; e < a.rows; ++e) {
    int64_t ends[2];
    for (int c = 0; c < 2; ++c) {
      ends[c] = a.at(e, c);
      GKD_CHECK(ends[c] >= 1 && ends[c] <= n, a_path, ": line ", e + 1, ", field ", c + 1,
                ": node id ", ends[c], " is outside [1, ", n, "]");
      --ends[c];
    }
    const int32_t gs = graph_of[ends[0]], gd = graph_of[ends[1]];
    GKD_CHECK(gs == gd, a_path, ": line ", e + 1, ": edge ", ends[0] + 1, " -> ", ends[1] + 1,
              " joins graph ", gs + 1, " and graph ", gd + 1, " (edges must lie within one graph)");
    const int64_t base = node_offsets[gs];
    edges[gs].emplace_back(static_cast<int32_t>(ends[0] - base),
                           static_cast<int32_t>(ends[1] - base));
  }

  // Node features: attributes first, then one one-hot block per node-label column.
  const std::string na_path = file("node_attributes.txt");
  const std::string nl_path = file("node_labels.txt");
  Table<float> attrs;
  if (options.node_attributes && fs::exists(na_path)) {
    attrs = read_table<float>(na_path, 0);
    check_rows(na_path, attrs.rows, n, "node in graph_indicator.txt");
  }
  Table<int64_t> node_labels;
  std::vector<std::vector<int64_t>> label_values;  // per column: sorted distinct values
  int64_t f = attrs.cols;
  if (fs::exists(nl_path)) {
    node_labels = read_table<int64_t>(nl_path, 0);
    check_rows(nl_path, node_labels.rows, n, "node in graph_indicator.txt");
    for (int64_t c = 0; c < node_labels.cols; ++c) {
      label_values.push_back(distinct(node_labels, c));
      f += static_cast<int64_t>(label_values.back().size());
    }
  }
  const bool ones = f == 0;
  if (ones) f = 1;
  // Garbage labels (every node distinct) must not turn into a multi-terabyte allocation.
  constexpr int64_t kMaxElements = int64_t{1} << 31;
  GKD_CHECK(n <= kMaxElements / f, nl_path, ": ", f, " feature columns for ", n,
            " nodes exceed the limit of ", kMaxElements, " elements of x");

  std::vector<float> x(static_cast<size_t>(n * f), ones ? 1.0f : 0.0f);  // [N, F]
  for (int64_t v = 0; v < n; ++v) {
    float* row = x.data() + v * f;
    for (int64_t c = 0; c < attrs.cols; ++c) row[c] = attrs.at(v, c);
    int64_t offset = attrs.cols;
    for (int64_t c = 0; c < node_labels.cols; ++c) {
      const auto& values = label_values[c];
      row[offset + rank_of(values, node_labels.at(v, c))] = 1.0f;
      offset += static_cast<int64_t>(values.size());
    }
  }
  const Tensor x_all = Tensor::from_vector<float>(n, f, x);  // [N, F]

  GraphDataset out;
  out.name = name;
  out.num_classes = static_cast<int64_t>(classes.size());
  out.num_node_features = f;
  out.samples.resize(static_cast<size_t>(num_graphs));
  for (int64_t g = 0; g < num_graphs; ++g) {
    auto& list = edges[g];
    std::sort(list.begin(), list.end());
    list.erase(std::unique(list.begin(), list.end()), list.end());
    std::vector<int32_t> src(list.size()), dst(list.size());
    for (size_t e = 0; e < list.size(); ++e) std::tie(src[e], dst[e]) = list[e];
    GraphSample& s = out.samples[g];
    s.graph = Graph::from_edges(node_offsets[g + 1] - node_offsets[g], src, dst);
    s.x = x_all.slice_rows(node_offsets[g], node_offsets[g + 1]);  // [n_g, F]
    s.label = rank_of(classes, gl.values[g]);
  }
  return out;
}

}  // namespace gkd::io
