// Peer check against PyTorch (GUIDE §6, step 3). tests/peer/torch_peer.py wrote each case's
// inputs, PyTorch's output and PyTorch's gradients of <R, out>; here gkd recomputes the case from
// its own layers and ops, in double, and must agree to rounding.
#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "autograd/functions_dense.h"
#include "autograd/functions_graph.h"
#include "autograd/functions_loss.h"
#include "distill/offline.h"
#include "engine/io/graph_dataset.h"
#include "models/graph_model.h"
#include "models/model.h"
#include "tests/support/fixtures.h"

using namespace gkd;
using namespace gkd::autograd;

namespace {

std::string g_case_dir;  // set by main_peer.cpp from argv[1]

struct PeerCase {
  std::map<std::string, Eigen::MatrixXd> arrays;

  const Eigen::MatrixXd& at(const std::string& key) const {
    auto it = arrays.find(key);
    if (it == arrays.end()) FAIL("peer case has no array '" << key << "'");
    return it->second;
  }
  Tensor tensor(const std::string& key) const { return test::from_eigen(at(key), DType::kF64); }

  // The graph, from the case's edge list (already in canonical order, which from_edges checks).
  Graph graph() const {
    const Eigen::MatrixXd &src = at("src"), &dst = at("dst");
    std::vector<int32_t> s(src.rows()), d(dst.rows());
    for (int64_t e = 0; e < src.rows(); ++e) {
      s[e] = static_cast<int32_t>(src(e, 0));
      d[e] = static_cast<int32_t>(dst(e, 0));
    }
    std::vector<int64_t> canonical;
    Graph g = Graph::from_edges(static_cast<int64_t>(at("num_nodes")(0, 0)), s, d, &canonical);
    for (size_t e = 0; e < canonical.size(); ++e) REQUIRE(canonical[e] == static_cast<int64_t>(e));
    return g;
  }
};

PeerCase load(const std::string& name) {
  const std::string path = g_case_dir + "/" + name + ".txt";
  std::ifstream in(path);
  REQUIRE_MESSAGE(in.good(), "missing peer case " << path << " (run tests/peer/torch_peer.py)");
  PeerCase c;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string key;
    int64_t rows = 0, cols = 0;
    fields >> key >> rows >> cols;
    Eigen::MatrixXd m(rows, cols);
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t j = 0; j < cols; ++j) fields >> m(i, j);
    REQUIRE_MESSAGE(!fields.fail(), path << ": array " << key << " is truncated");
    c.arrays[key] = m;
  }
  return c;
}

// Runs backward with PyTorch's projection R and compares the output and each named gradient.
void compare(const PeerCase& c, Tape& tape, Var out,
             const std::vector<std::pair<std::string, Var>>& inputs) {
  CHECK(test::close_ratio(test::to_eigen(out.value()), c.at("out"), 1e-10, 1e-12) <= 1.0);
  tape.backward(out, c.tensor("R"));
  for (const auto& key_var : inputs) {
    const auto& key = key_var.first;
    const auto& var = key_var.second;
    CAPTURE(key);
    CHECK(test::close_ratio(test::to_eigen(var.grad()), c.at("grad_" + key), 1e-9, 1e-12) <= 1.0);
  }
}

// Per-head attention score: s[n, h] = Σ_f z[n, h*F + f] · a[h, f]. z: [N, H*F]; a: [H, F].
Var head_scores(Var z, Var a) {
  const int64_t n = z.rows(), heads = a.rows(), f = a.cols();
  Var weighted = mul(z, reshape(a, 1, heads * f));                      // [N, H*F]
  return reshape(row_sums(reshape(weighted, n * heads, f)), n, heads);  // [N, H]
}

}  // namespace

namespace gkd_peer {
void set_case_dir(const std::string& dir) {
  g_case_dir = dir;
}
}  // namespace gkd_peer

TEST_CASE("peer: GCN layer (DGL GraphConv norm='both' with self loops) matches PyTorch") {
  const PeerCase c = load("gcn_layer");
  const Graph base = c.graph();
  const Graph& g = base.with_self_loops();
  Tape tape(Context::cpu());
  Var x = tape.leaf(c.tensor("x")), w = tape.leaf(c.tensor("w"));
  Var b = tape.leaf(c.tensor("b").reshape(1, c.at("b").rows()));
  Var norm = tape.constant(g.norm(EdgeNorm::kGcnSymmetric, DType::kF64));
  Var out = bias_act(spmm(g, matmul(x, w), norm), b, kernels::Activation::kRelu);
  compare(c, tape, out, {{"x", x}, {"w", w}});
  // b was given as a column by PyTorch; compare its gradient as a row.
  CHECK(test::close_ratio(test::to_eigen(b.grad()).transpose(), c.at("grad_b"), 1e-9, 1e-12) <=
        1.0);
}

TEST_CASE("peer: multi-head GAT layer (DGL 0.4 semantics, linear residual) matches PyTorch") {
  const PeerCase c = load("gat_layer");
  const Graph g = c.graph();
  Tape tape(Context::cpu());
  Var x = tape.leaf(c.tensor("x")), w = tape.leaf(c.tensor("w"));
  Var attn_l = tape.leaf(c.tensor("attn_l")), attn_r = tape.leaf(c.tensor("attn_r"));
  Var w_res = tape.leaf(c.tensor("w_res"));
  Var z = matmul(x, w);  // [N, H*F]
  // e[u -> v, h] = LeakyReLU_0.2(el[u, h] + er[v, h]); softmax over v's in-edges; aggregate z.
  Var e = sddmm_u_add_v(g, head_scores(z, attn_l), head_scores(z, attn_r), true, 0.2);
  Var out = add(spmm(g, z, edge_softmax(g, e)), matmul(x, w_res));
  compare(c, tape, out,
          {{"x", x}, {"w", w}, {"attn_l", attn_l}, {"attn_r", attn_r}, {"w_res", w_res}});
}

TEST_CASE("peer: edge softmax over in-edges matches PyTorch") {
  const PeerCase c = load("edge_softmax");
  const Graph g = c.graph();
  Tape tape(Context::cpu());
  Var scores = tape.leaf(c.tensor("scores"));
  compare(c, tape, edge_softmax(g, scores), {{"scores", scores}});
}

TEST_CASE("peer: LSP structure-KL loss matches PyTorch, both feature gradients") {
  const PeerCase c = load("structure_kl");
  const Graph g = c.graph();
  Tape tape(Context::cpu());
  Var hs = tape.leaf(c.tensor("h_student")), ht = tape.leaf(c.tensor("h_teacher"));
  compare(c, tape, structure_kl(g, hs, ht), {{"h_student", hs}, {"h_teacher", ht}});
}

TEST_CASE("peer: the fused cohort class KL matches K(K-1) PyTorch KL terms, peers detached") {
  const PeerCase c = load("cohort_kl");
  Tape tape(Context::cpu());
  std::vector<Var> z;
  std::vector<std::pair<std::string, Var>> inputs;
  for (int m = 0; m < 3; ++m) {
    z.push_back(tape.leaf(c.tensor("z" + std::to_string(m))));
    inputs.emplace_back("z" + std::to_string(m), z.back());
  }
  compare(c, tape, cohort_kl(z, 2.0), inputs);
}

TEST_CASE("peer: multi-label KD (binary KL of tempered sigmoids) matches PyTorch") {
  const PeerCase c = load("binary_kd");
  const models::ModelConfig config{.arch = models::Arch::kMlp, .in_dim = 1, .out_dim = 6};
  const distill::OfflineDistiller kd({.method = distill::Method::kKd, .temperature = 2.5}, config,
                                     config, 0);
  Tape tape(Context::cpu());
  Var zs = tape.leaf(c.tensor("z_student"));
  const models::ModelOutput out{.logits = zs, .hidden = {}, .aux_logits = {}};
  const distill::TeacherOutputs teacher{.logits = c.tensor("z_teacher"), .hidden = {}};
  compare(c, tape, kd.term(tape, Graph(), out, teacher, 1, true), {{"z_student", zs}});
}

namespace {

// Loads every parameter (and buffer) of a model from the case's "param:<name>" arrays, in double.
template <class M>
void load_params(const PeerCase& c, const M& model) {
  for (auto& name_p : model.named_parameters()) {
    auto& name = name_p.first;
    auto& p = name_p.second;
    CAPTURE(name);
    p->value = c.tensor("param:" + name);
    p->grad = Tensor();
  }
  for (auto& [name, b] : model.named_buffers()) b->value = b->value.to_dtype(DType::kF64);
}

// After backward: each parameter's gradient against PyTorch's.
template <class M>
void compare_param_grads(const PeerCase& c, const M& model) {
  for (auto& name_p : model.named_parameters()) {
    auto& name = name_p.first;
    auto& p = name_p.second;
    CAPTURE(name);
    REQUIRE(p->grad.defined());
    CHECK(test::close_ratio(test::to_eigen(p->grad), c.at("grad_param:" + name), 1e-9, 1e-12) <=
          1.0);
  }
}

}  // namespace

TEST_CASE("peer: a 3-layer GAT model (models::Model, linear residual, mean output heads)") {
  const PeerCase c = load("gat_model");
  const Graph g = c.graph();
  const models::Model model({.arch = models::Arch::kGat,
                             .in_dim = 5,
                             .out_dim = 3,
                             .hidden = 4,
                             .layers = 3,
                             .heads = 2,
                             .out_heads = 2,
                             .activation = kernels::Activation::kElu,
                             .dropout = 0,
                             .residual = models::Residual::kLinear},
                            1);
  load_params(c, model);
  Tape tape(Context::cpu());
  const Var out =
      model.forward(tape, g, {.dense = c.tensor("x")}, {.training = true, .seed = 1}).logits;
  CHECK(test::close_ratio(test::to_eigen(out.value()), c.at("out"), 1e-10, 1e-12) <= 1.0);
  tape.backward(out, c.tensor("R"));
  compare_param_grads(c, model);
}

TEST_CASE("peer: Xu et al.'s GIN graph model in training mode (batch norm statistics included)") {
  const PeerCase c = load("gin_graph_model");
  io::GraphDataset data{.name = "peer", .samples = {}, .num_classes = 2, .num_node_features = 3};
  int64_t at = 0;
  const Tensor x = c.tensor("x");
  for (int k = 0; k < 3; ++k) {
    const std::string s = std::to_string(k);
    const auto n = static_cast<int64_t>(c.at("n" + s)(0, 0));
    std::vector<int32_t> src, dst;
    for (int64_t e = 0; e < c.at("src" + s).rows(); ++e) {
      src.push_back(static_cast<int32_t>(c.at("src" + s)(e, 0)));
      dst.push_back(static_cast<int32_t>(c.at("dst" + s)(e, 0)));
    }
    data.samples.push_back(
        {.graph = Graph::from_edges(n, src, dst), .x = x.slice_rows(at, at + n), .edge_attr = {}});
    at += n;
  }
  const models::GraphModel model(
      {.in_dim = 3, .out_dim = 2, .hidden = 4, .layers = 2, .dropout = 0}, 1);
  load_params(c, model);
  const std::vector<int64_t> ids{0, 1, 2};
  Tape tape(Context::cpu());
  const Var out = model.forward(tape, io::make_batch(data, ids), {.training = true}).logits;
  CHECK(test::close_ratio(test::to_eigen(out.value()), c.at("out"), 1e-10, 1e-12) <= 1.0);
  for (auto& name_b : model.named_buffers()) {
    auto& name = name_b.first;
    auto& b = name_b.second;
    CAPTURE(name);
    CHECK(test::close_ratio(test::to_eigen(b->value), c.at("buffer:" + name), 1e-10, 1e-12) <= 1.0);
  }
  tape.backward(out, c.tensor("R"));
  compare_param_grads(c, model);
}
