// PPI loader (layout and semantics in ppi.h). Each split is checked whole before any graph is
// built: the JSON node list fixes N, every .npy must agree with it, and the graph-id blocks fix the
// node offsets that every link is checked against.
#include "engine/io/ppi.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/error.h"
#include "engine/io/npy.h"

namespace gkd::io {

namespace {

using nlohmann::json;

// A JSON value quoted for an error message: at most 24 characters of its compact text.
std::string shown(const json& v) {
  const std::string text = v.dump(-1, ' ', true, json::error_handler_t::replace);
  return text.size() > 24 ? text.substr(0, 24) + "..." : text;
}

std::string read_text(const std::string& path) {
  GKD_CHECK(std::filesystem::is_regular_file(path), path, ": missing (not a readable file)");
  std::ifstream in(path, std::ios::binary);
  GKD_CHECK(in.good(), path, ": cannot be opened");
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

json read_json(const std::string& path) {
  const std::string text = read_text(path);
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    GKD_FAIL(path, ": not valid JSON (", e.what(), ")");
  }
  GKD_CHECK(j.is_object(), path, ": top level is ", j.type_name(),
            " (expected an object from networkx node_link_data)");
  return j;
}

// An integer field in [0, n); `field` names it in errors ("links[3].target").
int64_t index_field(const json& parent, const char* key, int64_t n, const std::string& path,
                    const std::string& field) {
  GKD_CHECK(parent.is_object(), path, ": ", field.substr(0, field.rfind('.')), " is ",
            shown(parent), " (expected an object)");
  const auto it = parent.find(key);
  GKD_CHECK(it != parent.end(), path, ": ", field, " is missing");
  GKD_CHECK(it->is_number_integer(), path, ": ", field, " is ", shown(*it),
            " (expected an integer)");
  const bool in_range = it->is_number_unsigned()
                            ? it->get<uint64_t>() < static_cast<uint64_t>(n)
                            : it->get<int64_t>() >= 0 && it->get<int64_t>() < n;
  GKD_CHECK(in_range, path, ": ", field, " is ", shown(*it), ", outside [0, ", n, ")");
  return it->get<int64_t>();
}

// The rank written in a .npy header's 'shape' tuple. read_npy maps a 1-D array to [n, 1], so a
// [N] label file would otherwise pass for an [N, 1] one. Called only after read_npy succeeded,
// so the header is known to be well formed; the bounds are still checked.
int npy_rank(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string head(12, '\0');
  in.read(head.data(), 12);
  GKD_CHECK(in.gcount() == 12, path, ": header truncated");
  const auto byte = [&](int i) { return static_cast<size_t>(static_cast<unsigned char>(head[i])); };
  const bool v1 = head[6] == 1;
  const size_t len =
      v1 ? byte(8) | byte(9) << 8 : byte(8) | byte(9) << 8 | byte(10) << 16 | byte(11) << 24;
  std::string dict(std::min<size_t>(len, size_t{1} << 20), '\0');
  in.seekg(v1 ? 10 : 12);
  in.read(dict.data(), static_cast<std::streamsize>(dict.size()));
  const size_t key = dict.find("shape");
  const size_t open = dict.find('(', key), close = dict.find(')', open);
  GKD_CHECK(key != std::string::npos && open != std::string::npos && close != std::string::npos,
            path, ": header field 'shape' not found");
  int rank = 0;
  bool in_number = false;
  for (size_t i = open + 1; i < close; ++i) {
    const bool digit = dict[i] >= '0' && dict[i] <= '9';
    if (digit && !in_number) ++rank;
    in_number = digit;
  }
  return rank;
}

// A .npy file of the split, with its rank and row count checked against the JSON node count.
Tensor read_array(const std::string& path, int rank, int64_t n, const std::string& json_path) {
  GKD_CHECK(std::filesystem::is_regular_file(path), path, ": missing (not a readable file)");
  Tensor t = read_npy(path);
  const int got = npy_rank(path);
  GKD_CHECK(got == rank, path, ": array has ", got, " dimension(s) ", t.describe(), " (expected ",
            rank, ")");
  GKD_CHECK(t.rows() == n, path, ": has ", t.rows(), " rows (expected ", n, ", the node count of ",
            json_path, ")");
  return t;
}

struct Loaded {
  PpiSplit split;
  int64_t f = 0, l = 0;
};

Loaded load_split(const std::string& folder, const std::string& s) {
  const auto file = [&](const char* suffix) {
    return (std::filesystem::path(folder) / (s + suffix)).string();
  };
  const std::string jp = file("_graph.json");
  const json j = read_json(jp);
  const auto directed = j.find("directed");
  GKD_CHECK(directed == j.end() || *directed == false, jp, ": \"directed\" is ", shown(*directed),
            " (expected false: PPI links are undirected)");

  const auto nodes = j.find("nodes");
  GKD_CHECK(nodes != j.end(), jp, ": field \"nodes\" is missing");
  GKD_CHECK(nodes->is_array(), jp, ": field \"nodes\" is ", nodes->type_name(),
            " (expected an array)");
  const int64_t n = static_cast<int64_t>(nodes->size());
  GKD_CHECK(n > 0, jp, ": field \"nodes\" is empty (expected at least one node)");
  GKD_CHECK(n < std::numeric_limits<int32_t>::max(), jp, ": ", n,
            " nodes exceed the i32 node-id range");
  std::vector<int64_t> node_of_id(static_cast<size_t>(n), -1);
  for (int64_t i = 0; i < n; ++i) {
    const std::string field = "nodes[" + std::to_string(i) + "].id";
    const int64_t id = index_field((*nodes)[static_cast<size_t>(i)], "id", n, jp, field);
    GKD_CHECK(node_of_id[static_cast<size_t>(id)] < 0, jp, ": ", field, " is ", id,
              ", already the id of nodes[", node_of_id[static_cast<size_t>(id)],
              "] (expected ids 0..", n - 1, " each once)");
    node_of_id[static_cast<size_t>(id)] = i;
  }
  auto links = j.find("links");
  const char* links_name = "links";
  if (links == j.end()) {
    links = j.find("edges");
    links_name = "edges";
  }
  GKD_CHECK(links != j.end(), jp, ": field \"links\" is missing");
  GKD_CHECK(links->is_array(), jp, ": field \"", links_name, "\" is ", links->type_name(),
            " (expected an array)");

  // Graph ids: re-based by the minimum, then contiguous non-decreasing blocks without gaps.
  const std::string gp = file("_graph_id.npy");
  const Tensor gid_raw = read_array(gp, 1, n, jp);  // [N, 1]
  GKD_CHECK(!is_floating(gid_raw.dtype()), gp, ": dtype is ", dtype_name(gid_raw.dtype()),
            " (expected an integer dtype)");
  const std::vector<int64_t> gid = gid_raw.to_dtype(DType::kI64).to_vector<int64_t>();
  const int64_t base = *std::min_element(gid.begin(), gid.end());
  GKD_CHECK(gid[0] == base, gp, ": row 0 has graph id ", gid[0], " but the minimum is ", base,
            " (expected ids in non-decreasing contiguous blocks)");
  std::vector<int64_t> offsets = {0};         // [B + 1] first node of each graph
  std::vector<int32_t> graph_of(gid.size());  // [N]
  for (int64_t v = 0; v < n; ++v) {
    if (v > 0 && gid[v] != gid[v - 1]) {
      GKD_CHECK(gid[v] == gid[v - 1] + 1, gp, ": row ", v, " has graph id ", gid[v], " after ",
                gid[v - 1], " (expected ", gid[v - 1], " or ", gid[v - 1] + 1,
                ": ids must form contiguous blocks in node order)");
      offsets.push_back(v);
    }
    graph_of[static_cast<size_t>(v)] = static_cast<int32_t>(offsets.size() - 1);
  }
  offsets.push_back(n);
  const size_t num_graphs = offsets.size() - 1;

  const std::string fp = file("_feats.npy"), lp = file("_labels.npy");
  const Tensor feats = read_array(fp, 2, n, jp);  // [N, F]
  const std::vector<double> fv = feats.to_dtype(DType::kF64).to_vector<double>();
  for (size_t k = 0; k < fv.size(); ++k) {
    GKD_CHECK(std::isfinite(fv[k]), fp, ": row ", k / feats.cols(), ", column ", k % feats.cols(),
              " is ", fv[k], " (expected a finite value)");
  }
  const Tensor labels = read_array(lp, 2, n, jp);  // [N, L]
  const std::vector<double> lv = labels.to_dtype(DType::kF64).to_vector<double>();
  for (size_t k = 0; k < lv.size(); ++k) {
    GKD_CHECK(lv[k] == 0.0 || lv[k] == 1.0, lp, ": row ", k / labels.cols(), ", column ",
              k % labels.cols(), " is ", lv[k], " (expected 0 or 1)");
  }

  // Links in both directions, as local ids of their graph; self loops dropped (PyG).
  std::vector<std::vector<std::pair<int32_t, int32_t>>> edges(num_graphs);
  for (size_t e = 0; e < links->size(); ++e) {
    const json& link = (*links)[e];
    const std::string at = std::string(links_name) + "[" + std::to_string(e) + "]";
    const int64_t a = index_field(link, "source", n, jp, at + ".source");
    const int64_t b = index_field(link, "target", n, jp, at + ".target");
    const int32_t ga = graph_of[static_cast<size_t>(a)], gb = graph_of[static_cast<size_t>(b)];
    GKD_CHECK(ga == gb, jp, ": ", at, " joins node ", a, " (graph ", ga, ") and node ", b,
              " (graph ", gb, ") (expected both ends in one graph, per ", gp, ")");
    if (a == b) continue;
    const auto la = static_cast<int32_t>(a - offsets[ga]),
               lb = static_cast<int32_t>(b - offsets[ga]);
    edges[ga].emplace_back(la, lb);
    edges[ga].emplace_back(lb, la);
  }

  const Tensor x_all = feats.to_dtype(DType::kF32);   // [N, F]
  const Tensor y_all = labels.to_dtype(DType::kF32);  // [N, L]
  Loaded out{.split = {}, .f = feats.cols(), .l = labels.cols()};
  for (size_t g = 0; g < num_graphs; ++g) {
    auto& list = edges[g];
    std::sort(list.begin(), list.end());
    list.erase(std::unique(list.begin(), list.end()), list.end());
    std::vector<int32_t> src(list.size()), dst(list.size());
    for (size_t e = 0; e < list.size(); ++e) std::tie(src[e], dst[e]) = list[e];
    out.split.graphs.push_back(Graph::from_edges(offsets[g + 1] - offsets[g], src, dst));
    out.split.x.push_back(x_all.slice_rows(offsets[g], offsets[g + 1]));  // [n_g, F]
    out.split.y.push_back(y_all.slice_rows(offsets[g], offsets[g + 1]));  // [n_g, L]
  }
  return out;
}

}  // namespace

PpiDataset load_ppi(const std::string& folder) {
  GKD_CHECK(std::filesystem::is_directory(folder), folder,
            ": PPI folder missing (not a directory)");
  Loaded train = load_split(folder, "train");
  Loaded valid = load_split(folder, "valid");
  Loaded test = load_split(folder, "test");
  const std::pair<const char*, const Loaded*> others[] = {{"valid", &valid}, {"test", &test}};
  for (const auto& [name, o] : others) {
    GKD_CHECK(o->f == train.f, folder, "/", name, "_feats.npy: has ", o->f,
              " feature columns (expected ", train.f, ", as train_feats.npy)");
    GKD_CHECK(o->l == train.l, folder, "/", name, "_labels.npy: has ", o->l,
              " label columns (expected ", train.l, ", as train_labels.npy)");
  }
  return PpiDataset{.train = std::move(train.split),
                    .valid = std::move(valid.split),
                    .test = std::move(test.split),
                    .num_features = train.f,
                    .num_labels = train.l};
}

}  // namespace gkd::io
