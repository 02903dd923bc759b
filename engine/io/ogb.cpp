// OGB raw-CSV loader. Every file is decompressed whole (they are small: under 1 MB unpacked for the
// molecule sets), parsed strictly into an integer table, and cross-checked before any per-graph
// structure is built, so a count that does not add up is reported once, against the file that
// disagrees, rather than as an out-of-range read later.
#include "engine/io/ogb.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/error.h"

namespace gkd::io {

namespace {

constexpr auto& kAtomDims = kOgbAtomVocab;
constexpr auto& kBondDims = kOgbBondVocab;
// Far above any OGB graph-property file unpacked; stops a gzip bomb before it eats memory.
constexpr size_t kMaxUnpackedBytes = size_t{1} << 30;

// The whole decompressed content of a gzip file. zlib reports a truncated stream only through
// gzerror/gzclose (Z_BUF_ERROR) and a corrupted one as a -1 read, so all three are checked.
std::string read_gz(const std::string& path) {
  GKD_CHECK(std::filesystem::is_regular_file(path), path, ": missing (not a readable file)");
  gzFile f = gzopen(path.c_str(), "rb");
  GKD_CHECK(f != nullptr, path, ": cannot be opened");
  std::string out;
  std::vector<char> buf(size_t{1} << 16);
  std::string problem;
  for (;;) {
    const int n = gzread(f, buf.data(), static_cast<unsigned>(buf.size()));
    if (n < 0) {
      int code = Z_OK;
      problem = std::string("corrupted gzip data (") + gzerror(f, &code) + ")";
      break;
    }
    if (n == 0) break;
    if (out.size() + static_cast<size_t>(n) > kMaxUnpackedBytes) {
      problem = "unpacks to more than 1 GiB";
      break;
    }
    out.append(buf.data(), static_cast<size_t>(n));
  }
  if (problem.empty()) {
    int code = Z_OK;
    const char* msg = gzerror(f, &code);
    if (code != Z_OK) problem = std::string("truncated or corrupted gzip data (") + msg + ")";
  }
  const int closed = gzclose(f);
  if (problem.empty() && closed != Z_OK) problem = "truncated gzip data (the stream ends early)";
  GKD_CHECK(problem.empty(), path, ": ", problem);
  return out;
}

// A field quoted for an error message: at most 24 characters, non-printable bytes as '?'.
std::string quoted(std::string_view field) {
  std::string q = "'";
  for (size_t i = 0; i < field.size() && i < 24; ++i) {
    const unsigned char c = static_cast<unsigned char>(field[i]);
    q += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
  }
  return q + (field.size() > 24 ? "...'" : "'");
}

// One CSV file as an integer table [rows, cols], row r coming from line r + 1.
struct Table {
  std::string path;
  int64_t rows = 0;
  int cols = 0;
  std::vector<int64_t> v;  // [rows, cols] row-major
  int64_t at(int64_t r, int c) const { return v[static_cast<size_t>(r * cols + c)]; }
};

Table read_table(const std::string& path, int cols) {
  const std::string text = read_gz(path);
  Table t{.path = path, .rows = 0, .cols = cols, .v = {}};
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();  // a last line without its newline
    std::string_view line(text.data() + pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const int64_t line_no = t.rows + 1;
    GKD_CHECK(!line.empty(), path, ": line ", line_no, " is empty (expected ", cols,
              " comma-separated integers)");
    int field_no = 0;
    size_t start = 0;
    for (;;) {
      const size_t comma = std::min(line.find(',', start), line.size());
      const std::string_view field = line.substr(start, comma - start);
      ++field_no;
      GKD_CHECK(field_no <= cols, path, ": line ", line_no, " has more than ", cols,
                " fields (expected ", cols, ")");
      int64_t value = 0;
      const auto [ptr, ec] = std::from_chars(field.data(), field.data() + field.size(), value);
      if (field == "nan" || field == "NaN") {
        GKD_FAIL(path, ": line ", line_no, ", field ", field_no,
                 ": missing value 'nan' (only fully labelled datasets are supported)");
      }
      GKD_CHECK(ec != std::errc::result_out_of_range, path, ": line ", line_no, ", field ",
                field_no, ": ", quoted(field), " is out of the int64 range");
      GKD_CHECK(ec == std::errc() && ptr == field.data() + field.size() && !field.empty(), path,
                ": line ", line_no, ", field ", field_no, ": ", quoted(field),
                " is not an integer");
      t.v.push_back(value);
      if (comma == line.size()) break;
      start = comma + 1;
    }
    GKD_CHECK(field_no == cols, path, ": line ", line_no, " has ", field_no, " field(s) (expected ",
              cols, ")");
    ++t.rows;
  }
  return t;
}

// Column c of every row lies in [lo, hi[c]); `what` names the range in the message.
template <size_t C>
void check_range(const Table& t, int64_t lo, const std::array<int64_t, C>& hi, const char* what) {
  for (int64_t r = 0; r < t.rows; ++r) {
    for (int c = 0; c < t.cols; ++c) {
      const int64_t x = t.at(r, c);
      GKD_CHECK(x >= lo && x < hi[static_cast<size_t>(c)], t.path, ": line ", r + 1, ", field ",
                c + 1, ": ", x, " is outside ", what, " [", lo, ", ", hi[static_cast<size_t>(c)],
                ")");
    }
  }
}

void check_rows(const Table& t, int64_t expected, const char* why) {
  GKD_CHECK(t.rows == expected, t.path, ": ", t.rows, " lines (expected ", expected, ", ", why,
            ")");
}

// One graph: bonds [e0, e0 + m) of edge/edge-feat, atoms [n0, n0 + n) of node-feat.
GraphSample build_sample(int64_t g, int64_t n, int64_t n0, int64_t m, int64_t e0,
                         const Table& node_feat, const Table& edge, const Table& edge_feat) {
  // Bond k as an undirected key, to find a bond listed twice (in either direction).
  std::vector<std::pair<int64_t, int64_t>> keys;  // (key, k)
  keys.reserve(static_cast<size_t>(m));
  std::vector<int32_t> src, dst;  // [2m]: bond k gives input edges 2k (i -> j) and 2k + 1 (j -> i)
  src.reserve(static_cast<size_t>(2 * m));
  dst.reserve(static_cast<size_t>(2 * m));
  for (int64_t k = 0; k < m; ++k) {
    const int64_t line = e0 + k + 1;
    const int64_t i = edge.at(e0 + k, 0), j = edge.at(e0 + k, 1);
    for (int c = 0; c < 2; ++c) {
      const int64_t a = c == 0 ? i : j;
      GKD_CHECK(a >= 0 && a < n, edge.path, ": line ", line, ", field ", c + 1, ": atom ", a,
                " is outside graph ", g, "'s ", n, " atoms [0, ", n, ")");
    }
    GKD_CHECK(i != j, edge.path, ": line ", line, ": self-loop bond ", i, ",", j, " in graph ", g,
              " (molecules have none)");
    keys.emplace_back(std::min(i, j) * n + std::max(i, j), k);
    src.push_back(static_cast<int32_t>(i));
    dst.push_back(static_cast<int32_t>(j));
    src.push_back(static_cast<int32_t>(j));
    dst.push_back(static_cast<int32_t>(i));
  }
  std::sort(keys.begin(), keys.end());
  for (size_t p = 1; p < keys.size(); ++p) {
    GKD_CHECK(keys[p].first != keys[p - 1].first, edge.path, ": lines ",
              e0 + keys[p - 1].second + 1, " and ", e0 + keys[p].second + 1, " list the same bond ",
              keys[p].first / n, ",", keys[p].first % n, " of graph ", g);
  }

  GraphSample s;
  std::vector<int64_t> canonical_of_input;  // [2m]
  s.graph = Graph::from_edges(n, src, dst, &canonical_of_input);
  const auto x_begin = node_feat.v.begin() + n0 * node_feat.cols;
  s.x = Tensor::from_vector<int64_t>(n, node_feat.cols,
                                     std::vector<int64_t>(x_begin, x_begin + n * node_feat.cols));
  const int d = edge_feat.cols;
  std::vector<int64_t> attr(static_cast<size_t>(2 * m * d));  // [2m, d] in canonical order
  for (int64_t e = 0; e < 2 * m; ++e) {
    const int64_t c = canonical_of_input[static_cast<size_t>(e)];
    for (int q = 0; q < d; ++q) attr[static_cast<size_t>(c * d + q)] = edge_feat.at(e0 + e / 2, q);
  }
  s.edge_attr = Tensor::from_vector<int64_t>(2 * m, d, attr);
  return s;
}

}  // namespace

GraphDataset load_ogb_graph(const std::string& folder) {
  const std::filesystem::path root = std::filesystem::path(folder).lexically_normal();
  GKD_CHECK(std::filesystem::is_directory(root), "[load_ogb_graph] ", folder, ": not a directory");
  const auto path = [&](const char* relative) { return (root / relative).string(); };
  constexpr int64_t kMaxCount = std::numeric_limits<int32_t>::max();

  const Table num_nodes = read_table(path("raw/num-node-list.csv.gz"), 1);
  const int64_t num_graphs = num_nodes.rows;
  GKD_CHECK(num_graphs > 0, num_nodes.path, ": no graphs (the file is empty)");
  check_range(num_nodes, 1, std::array<int64_t, 1>{kMaxCount}, "the atom count range");
  const Table num_edges = read_table(path("raw/num-edge-list.csv.gz"), 1);
  check_rows(num_edges, num_graphs, "one per graph, as in raw/num-node-list.csv.gz");
  check_range(num_edges, 0, std::array<int64_t, 1>{kMaxCount}, "the bond count range");
  const Table labels = read_table(path("raw/graph-label.csv.gz"), 1);
  check_rows(labels, num_graphs, "one per graph, as in raw/num-node-list.csv.gz");
  check_range(labels, 0, std::array<int64_t, 1>{2}, "the binary labels");

  int64_t total_nodes = 0, total_bonds = 0;
  for (int64_t g = 0; g < num_graphs; ++g) {
    total_nodes += num_nodes.at(g, 0);
    total_bonds += num_edges.at(g, 0);
  }
  const Table node_feat = read_table(path("raw/node-feat.csv.gz"), 9);
  check_rows(node_feat, total_nodes, "the sum of raw/num-node-list.csv.gz");
  check_range(node_feat, 0, kAtomDims, "OGB's atom vocabulary");
  const Table edge = read_table(path("raw/edge.csv.gz"), 2);
  check_rows(edge, total_bonds, "the sum of raw/num-edge-list.csv.gz");
  const Table edge_feat = read_table(path("raw/edge-feat.csv.gz"), 3);
  check_rows(edge_feat, total_bonds, "the sum of raw/num-edge-list.csv.gz");
  check_range(edge_feat, 0, kBondDims, "OGB's bond vocabulary");

  GraphDataset ds;
  std::filesystem::path base = root.filename();
  if (base.empty()) base = root.parent_path().filename();  // a trailing / empties filename()
  ds.name = base.string();
  std::replace(ds.name.begin(), ds.name.end(), '_', '-');
  ds.num_classes = 2;
  ds.num_node_features = 9;
  ds.samples.reserve(static_cast<size_t>(num_graphs));
  for (int64_t g = 0, n0 = 0, e0 = 0; g < num_graphs; ++g) {
    const int64_t n = num_nodes.at(g, 0), m = num_edges.at(g, 0);
    ds.samples.push_back(build_sample(g, n, n0, m, e0, node_feat, edge, edge_feat));
    ds.samples.back().label = labels.at(g, 0);
    n0 += n;
    e0 += m;
  }

  // The scaffold split: ids in range, no graph twice (within a split or across splits).
  const char* names[3] = {"train", "valid", "test"};
  std::vector<int64_t>* parts[3] = {&ds.train, &ds.valid, &ds.test};
  std::vector<int> owner(static_cast<size_t>(num_graphs), -1);  // split holding graph g
  for (int s = 0; s < 3; ++s) {
    const Table ids = read_table(path(s == 0   ? "split/scaffold/train.csv.gz"
                                      : s == 1 ? "split/scaffold/valid.csv.gz"
                                               : "split/scaffold/test.csv.gz"),
                                 1);
    check_range(ids, 0, std::array<int64_t, 1>{num_graphs}, "the graph ids");
    for (int64_t r = 0; r < ids.rows; ++r) {
      const int64_t g = ids.at(r, 0);
      int& o = owner[static_cast<size_t>(g)];
      GKD_CHECK(o < 0, ids.path, ": line ", r + 1, ": graph ", g, " is already in the ",
                names[o < 0 ? 0 : o], " split");
      o = s;
      parts[s]->push_back(g);
    }
  }
  return ds;
}

}  // namespace gkd::io
