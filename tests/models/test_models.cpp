// Models: parameter gradients of every architecture against central differences in double (dense
// and sparse input, eval and training mode, aux heads), parameter counts against published
// models, hidden-state shapes, determinism and config errors.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "autograd/functions_dense.h"
#include "engine/allocator.h"
#include "engine/io/synthetic.h"
#include "engine/sparse_matrix.h"
#include "models/footprint.h"
#include "models/metrics.h"
#include "models/model.h"
#include "models/train_node.h"
#include "tests/support/checks.h"

using namespace gkd;
using namespace gkd::models;
using autograd::Tape;
using autograd::Var;

namespace {

// <R, logits> + Σ_l <R_l, hidden_l> + Σ_l <R'_l, aux_l>: every output of the model matters.
Var projection(Tape& tape, const ModelOutput& out, uint64_t seed) {
  std::vector<Var> outputs{out.logits};
  outputs.insert(outputs.end(), out.hidden.begin(), out.hidden.end());
  outputs.insert(outputs.end(), out.aux_logits.begin(), out.aux_logits.end());
  Var total;
  for (size_t k = 0; k < outputs.size(); ++k) {
    const Tensor r =
        test::random_tensor(outputs[k].rows(), outputs[k].cols(), DType::kF64, seed + k);
    Var term = autograd::sum(autograd::mul(outputs[k], tape.constant(r)));
    total = total.defined() ? autograd::add(total, term) : term;
  }
  return total;
}

double objective(const Model& m, const Graph& g, const io::FeatureMatrix& x, bool training,
                 bool backward) {
  Tape tape(Context::cpu());
  const Var total =
      projection(tape, m.forward(tape, g, x, {.training = training, .seed = 5, .step = 3}), 100);
  if (backward) tape.backward(total);
  return total.value().item<double>();
}

// Parameters redrawn at random in double: zero biases (the initial values) would put exact zeros
// (a row whose inputs were all dropped) onto the ReLU kink, where no derivative exists.
void randomize_parameters(Model& m, uint64_t seed) {
  for (autograd::Parameter* p : m.parameters()) {
    p->value = test::random_tensor(p->value.rows(), p->value.cols(), DType::kF64, seed++);
    p->grad = Tensor();
  }
}

// Every parameter's analytic gradient against central differences on up to 10 coordinates each.
void check_parameter_gradients(Model& m, const Graph& g, const io::FeatureMatrix& x,
                               bool training) {
  randomize_parameters(m, 300);
  objective(m, g, x, training, true);
  for (autograd::Parameter* p : m.parameters()) {
    CAPTURE(p->name);
    REQUIRE(p->grad.defined());
    const std::vector<double> grad = p->grad.to_vector<double>();
    const int64_t n = p->value.numel();
    for (int64_t k = 0; k < std::min<int64_t>(n, 10); ++k) {
      const int64_t i = (k * 7919) % n;
      double* w = p->value.data<double>() + i;  // parameters are contiguous
      const double saved = *w, h = 1e-6 * std::max(1.0, std::abs(saved));
      *w = saved + h;
      const double up = objective(m, g, x, training, false);
      *w = saved - h;
      const double down = objective(m, g, x, training, false);
      *w = saved;
      const double numeric = (up - down) / (2 * h);
      CAPTURE(i);
      CHECK(std::abs(numeric - grad[i]) <=
            1e-6 + 1e-5 * std::max(std::abs(numeric), std::abs(grad[i])));
    }
  }
}

io::FeatureMatrix dense_features(int64_t n, int64_t f) {
  return {.dense = test::random_tensor(n, f, DType::kF64, 21)};
}

io::FeatureMatrix sparse_features(int64_t n, int64_t f) {
  Eigen::MatrixXd d = test::to_eigen(test::random_tensor(n, f, DType::kF64, 22));
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < f; ++j) {
      if ((i * 31 + j * 17) % 3 != 0) d(i, j) = 0;
    }
  }
  return {.sparse = SparseMatrix::from_dense(test::from_eigen(d, DType::kF64))};
}

struct ArchCase {
  std::string name;
  ModelConfig config;
};

// One case per layer type and option that changes its computation.
std::vector<ArchCase> architecture_cases() {
  return {
      {"mlp", {.arch = Arch::kMlp, .hidden = 5, .layers = 3, .aux_heads = true}},
      {"gcn", {.arch = Arch::kGcn, .hidden = 5, .layers = 3, .aux_heads = true}},
      {"gat-linear-residual",
       {.arch = Arch::kGat,
        .hidden = 3,
        .layers = 3,
        .heads = 3,
        .out_heads = 2,
        .activation = kernels::Activation::kElu,
        .attn_dropout = 0.3,
        .feat_dropout = 0.4,
        .residual = Residual::kLinear}},
      {"gat-identity-residual",
       {.arch = Arch::kGat,
        .hidden = 3,
        .layers = 3,
        .heads = 2,
        .out_heads = 1,
        .residual = Residual::kIdentity,
        .aux_heads = true}},
      {"sage-mean", {.arch = Arch::kSage, .hidden = 4, .layers = 2}},
      {"sage-pool",
       {.arch = Arch::kSage, .hidden = 4, .layers = 2, .aggregator = SageAggregator::kPool}},
      {"gin-eps", {.arch = Arch::kGin, .hidden = 4, .layers = 2, .learn_eps = true}},
  };
}

}  // namespace

TEST_CASE("models: parameter gradients of every architecture match central differences") {
  // Directed, asymmetric, an isolated node and a self loop (GCN/GAT add the missing ones).
  const Graph g = test::random_graph(24, 3.0, 9, true);
  const std::vector<ArchCase> cases = architecture_cases();
  for (const ArchCase& c : cases) {
    for (bool sparse : {false, true}) {
      for (bool training : {false, true}) {
        CAPTURE(c.name);
        CAPTURE(sparse);
        CAPTURE(training);
        ModelConfig config = c.config;
        config.in_dim = 6;
        config.out_dim = 3;
        config.dropout = 0.2;
        Model m(config, 42);
        check_parameter_gradients(m, g, sparse ? sparse_features(24, 6) : dense_features(24, 6),
                                  training);
      }
    }
  }
}

TEST_CASE("models: K students as one batch give each student's outputs and gradients") {
  const Graph g = test::random_graph(24, 3.0, 9, true);
  constexpr int64_t kStudents = 3;
  for (const ArchCase& c : architecture_cases()) {
    for (bool sparse : {false, true}) {
      for (bool training : {false, true}) {
        CAPTURE(c.name);
        CAPTURE(sparse);
        CAPTURE(training);
        ModelConfig config = c.config;
        config.in_dim = 6;
        config.out_dim = 3;
        config.dropout = 0.2;
        std::vector<std::unique_ptr<Model>> owned;
        std::vector<const Model*> students;
        std::vector<ForwardOptions> options;
        for (int64_t k = 0; k < kStudents; ++k) {
          owned.push_back(std::make_unique<Model>(config, 42 + k));
          randomize_parameters(*owned.back(), 300 + 50 * k);
          students.push_back(owned.back().get());
          options.push_back(
              {.training = training, .seed = 5 + static_cast<uint64_t>(k), .step = 3});
        }
        REQUIRE(Model::can_batch(students));
        const io::FeatureMatrix x = sparse ? sparse_features(24, 6) : dense_features(24, 6);
        // Each student alone, then the cohort as one batch: the same objective per student.
        std::vector<std::vector<Tensor>> alone_values(kStudents), alone_grads(kStudents);
        {
          Tape tape(Context::cpu());
          Var total;
          for (int64_t k = 0; k < kStudents; ++k) {
            const ModelOutput out = students[k]->forward(tape, g, x, options[k]);
            alone_values[k].push_back(out.logits.value());
            for (const Var& h : out.hidden) alone_values[k].push_back(h.value());
            for (const Var& a : out.aux_logits) alone_values[k].push_back(a.value());
            Var term = projection(tape, out, 100 + 10 * k);
            total = total.defined() ? autograd::add(total, term) : term;
          }
          tape.backward(total);
        }
        for (int64_t k = 0; k < kStudents; ++k) {
          for (autograd::Parameter* p : owned[k]->parameters()) {
            alone_grads[k].push_back(p->grad);
            p->grad = Tensor();
          }
        }
        Tape tape(Context::cpu());
        const std::vector<ModelOutput> outs = Model::forward_cohort(tape, g, x, students, options);
        REQUIRE(outs.size() == kStudents);
        Var total;
        for (int64_t k = 0; k < kStudents; ++k) {
          Var term = projection(tape, outs[k], 100 + 10 * k);
          total = total.defined() ? autograd::add(total, term) : term;
        }
        tape.backward(total);
        for (int64_t k = 0; k < kStudents; ++k) {
          CAPTURE(k);
          std::vector<Tensor> values{outs[k].logits.value()};
          for (const Var& h : outs[k].hidden) values.push_back(h.value());
          for (const Var& a : outs[k].aux_logits) values.push_back(a.value());
          REQUIRE(values.size() == alone_values[k].size());
          for (size_t i = 0; i < values.size(); ++i) {
            CHECK(test::close_ratio(test::to_eigen(values[i]), test::to_eigen(alone_values[k][i]),
                                    1e-12, 1e-12) <= 1.0);
          }
          const std::vector<autograd::Parameter*> params = owned[k]->parameters();
          for (size_t i = 0; i < params.size(); ++i) {
            CAPTURE(params[i]->name);
            REQUIRE(params[i]->grad.defined());
            CHECK(test::close_ratio(test::to_eigen(params[i]->grad),
                                    test::to_eigen(alone_grads[k][i]), 1e-12, 1e-12) <= 1.0);
          }
        }
      }
    }
  }
}

TEST_CASE("models: forward_cohort refuses students that cannot run as one batch") {
  const Graph g = test::random_graph(10, 2.0, 1);
  const io::FeatureMatrix x{.dense = test::random_tensor(10, 4, DType::kF32, 2)};
  const Model a({.arch = Arch::kGcn, .in_dim = 4, .out_dim = 2}, 1);
  const Model b({.arch = Arch::kGcn, .in_dim = 4, .out_dim = 2, .hidden = 8}, 2);
  const Model c({.arch = Arch::kGcn, .in_dim = 4, .out_dim = 2}, 3);
  const std::vector<const Model*> mixed{&a, &b}, same{&a, &c};
  CHECK_FALSE(Model::can_batch(mixed));
  CHECK(Model::can_batch(same));
  Tape tape(Context::cpu());
  const std::vector<ForwardOptions> two(2);
  CHECK(test::error_of([&] {
          Model::forward_cohort(tape, g, x, mixed, two);
        }).find("cannot run as one batch") != std::string::npos);
  const std::vector<ForwardOptions> modes{{.training = true}, {.training = false}};
  CHECK(test::error_of([&] {
          Model::forward_cohort(tape, g, x, same, modes);
        }).find("share training mode and step") != std::string::npos);
  CHECK(test::error_of([&] {
          Model::forward_cohort(tape, g, x, same, {two.data(), 1});
        }).find("2 students and 1 forward options") != std::string::npos);
}

TEST_CASE("models: parameter counts match the published models") {
  // PyG's GAT for Cora (8 heads x 8, one output head): 92,373 parameters.
  CHECK(Model({.arch = Arch::kGat, .in_dim = 1433, .out_dim = 7, .hidden = 8, .heads = 8}, 1)
            .num_parameters() == 92373);
  // Kipf & Welling's GCN for Cora: 1433*16 + 16 + 16*7 + 7.
  CHECK(Model({.arch = Arch::kGcn, .in_dim = 1433, .out_dim = 7}, 1).num_parameters() == 23063);
  // methods.md §1.2, DGL 0.4 GAT on PPI (linear residuals, no bias): the LSP teacher (3.64M) and
  // the LSP/MSKD student.
  const ModelConfig teacher{.arch = Arch::kGat,
                            .in_dim = 50,
                            .out_dim = 121,
                            .hidden = 256,
                            .layers = 3,
                            .heads = 4,
                            .out_heads = 6,
                            .residual = Residual::kLinear,
                            .bias = false};
  CHECK(Model(teacher, 1).num_parameters() == 3640748);
  ModelConfig student = teacher;
  student.hidden = 68;
  student.layers = 5;
  student.heads = 2;
  student.out_heads = 2;
  CHECK(Model(student, 1).num_parameters() == 185172);
  // methods.md §1.2: the Alignahead student (4 hidden layers x 64 x 3 heads, 3 output heads).
  ModelConfig alignahead = teacher;
  alignahead.hidden = 64;
  alignahead.layers = 5;
  alignahead.heads = 3;
  alignahead.out_heads = 3;
  CHECK(Model(alignahead, 1).num_parameters() == 372438);
}

TEST_CASE("models: hidden states, aux heads, determinism") {
  const Graph g = test::random_graph(30, 4.0, 3);
  const io::FeatureMatrix x{.dense = test::random_tensor(30, 8, DType::kF32, 4)};
  Model a({.arch = Arch::kGat,
           .in_dim = 8,
           .out_dim = 4,
           .hidden = 5,
           .layers = 3,
           .heads = 2,
           .out_heads = 3,
           .aux_heads = true},
          7);
  Model b(a.config(), 7);
  Tape tape(Context::cpu());
  const ModelOutput oa = a.forward(tape, g, x, {.training = true, .seed = 1, .step = 2});
  const ModelOutput ob = b.forward(tape, g, x, {.training = true, .seed = 1, .step = 2});
  const ModelOutput oc = b.forward(tape, g, x, {.training = true, .seed = 1, .step = 3});
  REQUIRE(oa.hidden.size() == 2);
  CHECK(oa.hidden[0].cols() == 10);
  CHECK(oa.hidden[1].cols() == 10);
  CHECK(oa.logits.cols() == 4);
  REQUIRE(oa.aux_logits.size() == 2);
  CHECK(oa.aux_logits[1].cols() == 4);
  CHECK(oa.logits.value().to_vector<float>() == ob.logits.value().to_vector<float>());
  CHECK(oa.logits.value().to_vector<float>() != oc.logits.value().to_vector<float>());
  CHECK(test::error_of([] {
          Model({.arch = Arch::kGcn, .in_dim = 3, .out_dim = 2, .layers = 0}, 1);
        }).find("layers is 0") != std::string::npos);
  CHECK(test::error_of([&] {
          Tape t(Context::cpu());
          Model({.arch = Arch::kGcn, .in_dim = 9, .out_dim = 2}, 1).forward(t, g, x, {});
        }).find("features have 8 columns (expected in_dim = 9)") != std::string::npos);
  CHECK(test::error_of([] { arch_from_string("gcnn"); }).find("expected mlp, gcn") !=
        std::string::npos);
}

TEST_CASE("metrics: accuracy, micro-F1 and ROC-AUC on hand-computed cases") {
  const Tensor logits = Tensor::from_vector<float>(4, 3, {1, 2, 0, 5, 5, 1, 0, 0, 3, 2, 1, 0});
  const Tensor labels = Tensor::from_vector<int64_t>(4, 1, {1, 0, 2, 1});
  CHECK(accuracy(logits, labels) == doctest::Approx(75.0));  // row 1 ties: the first max wins
  const Tensor mask = Tensor::from_vector<uint8_t>(4, 1, {0, 0, 1, 1});
  CHECK(accuracy(logits, labels, mask) == doctest::Approx(50.0));
  // Multi-label: predictions (logit >= 0) 1,0 / 1,1; targets 1,1 / 0,1 -> tp 2, fp 1, fn 1.
  const Tensor z = Tensor::from_vector<float>(2, 2, {0.2f, -1, 3, 0.1f});
  const Tensor t = Tensor::from_vector<float>(2, 2, {1, 1, 0, 1});
  CHECK(micro_f1(z, t) == doctest::Approx(100.0 * 4 / 6));
  // The raw-logit rule (>= 0.5) predicts only (1, 0): tp 0, fp 1, fn 3.
  CHECK(micro_f1(z, t, {}, true) == doctest::Approx(0.0));
  CHECK(roc_auc(Tensor::from_vector<float>(4, 1, {0.1f, 0.4f, 0.35f, 0.8f}),
                Tensor::from_vector<float>(4, 1, {0, 0, 1, 1})) == doctest::Approx(75.0));
  CHECK(roc_auc(Tensor::from_vector<float>(4, 1, {0.5f, 0.5f, 0.2f, 0.9f}),
                Tensor::from_vector<float>(4, 1, {1, 0, 0, 1})) == doctest::Approx(87.5));
  CHECK(test::error_of([] {
          roc_auc(Tensor::from_vector<float>(2, 1, {0.1f, 0.2f}),
                  Tensor::from_vector<float>(2, 1, {1, 1}));
        }).find("expected both classes") != std::string::npos);
}

TEST_CASE("train: GCN learns the synthetic graph, selection and early stopping are consistent") {
  const io::NodeDataset data = io::make_csbm({.num_nodes = 600, .seed = 4});
  Model gcn({.arch = Arch::kGcn, .in_dim = data.x.cols(), .out_dim = data.num_classes}, 1);
  const NodeTrainResult r =
      train_node_classifier(Context::cpu(), gcn, data, {.epochs = 60, .patience = 15});
  CHECK(r.test_acc > 80.0);
  REQUIRE(r.epochs_run == static_cast<int64_t>(r.history.size()));
  CHECK(r.epochs_run <= 60);
  const EpochMetrics& best = r.history[r.best_epoch - 1];
  CHECK(best.val_acc == r.best_val_acc);
  CHECK(best.test_acc == r.test_acc);
  for (const EpochMetrics& m : r.history) CHECK(m.val_acc <= r.best_val_acc);
  if (r.epochs_run < 60) CHECK(r.epochs_run - r.best_epoch == 15);
  // Same seeds, same run: bit-identical history.
  Model again(gcn.config(), 1);
  const NodeTrainResult r2 =
      train_node_classifier(Context::cpu(), again, data, {.epochs = 60, .patience = 15});
  CHECK(r2.history.back().train_loss == r.history.back().train_loss);
}

TEST_CASE("train: a run interrupted mid-way and resumed from its state file ends bit-identical") {
  const io::NodeDataset data = io::make_csbm({.num_nodes = 300, .seed = 5});
  const ModelConfig mc{.arch = Arch::kGat,
                       .in_dim = data.x.cols(),
                       .out_dim = data.num_classes,
                       .hidden = 4,
                       .heads = 2,
                       .dropout = 0.3,
                       .attn_dropout = 0.2};
  const std::string path = "test_models_resume.state.ckpt";
  std::remove(path.c_str());
  NodeTrainOptions o{.epochs = 25, .patience = 0};
  Model whole(mc, 7);
  const NodeTrainResult ref = train_node_classifier(Context::cpu(), whole, data, o);

  // The first attempt dies in epoch 13; the state was last written after epoch 10.
  o.state = {.path = path, .every = 5, .resume = true, .tag = "gat seed 7"};
  Model first(mc, 7);
  CHECK_THROWS_WITH(train_node_classifier(Context::cpu(), first, data, o,
                                          [](const EpochMetrics& m) {
                                            if (m.epoch == 13) throw std::runtime_error("killed");
                                          }),
                    "killed");
  // A fresh process: new model object, same config and seed.
  Model second(mc, 7);
  std::vector<int64_t> seen;
  const NodeTrainResult resumed = train_node_classifier(
      Context::cpu(), second, data, o, [&](const EpochMetrics& m) { seen.push_back(m.epoch); });
  CHECK(resumed.resumed_epoch == 10);
  REQUIRE(seen.size() == 25);  // epochs 1..10 replayed, 11..25 trained
  CHECK(seen.front() == 1);
  CHECK(seen.back() == 25);
  REQUIRE(resumed.history.size() == ref.history.size());
  for (size_t i = 0; i < ref.history.size(); ++i) {
    CHECK(resumed.history[i].train_loss == ref.history[i].train_loss);
    CHECK(resumed.history[i].val_acc == ref.history[i].val_acc);
  }
  CHECK(resumed.best_epoch == ref.best_epoch);
  CHECK(resumed.test_acc == ref.test_acc);
  const auto a = whole.named_parameters(), b = second.named_parameters();
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].second->value.to_vector<float>() == b[i].second->value.to_vector<float>());
  }
  // A finished state returns the result without training; another tag is refused.
  Model third(mc, 7);
  CHECK(train_node_classifier(Context::cpu(), third, data, o).test_acc == ref.test_acc);
  o.state.tag = "another config";
  Model fourth(mc, 7);
  CHECK_THROWS_WITH(train_node_classifier(Context::cpu(), fourth, data, o),
                    doctest::Contains("field tag"));
  std::remove(path.c_str());
}

TEST_CASE("footprint: the training estimate bounds the measured host peak within 3x") {
  const size_t empty = host_memory_stats().bytes_in_use;
  const io::NodeDataset dense = io::make_csbm({.num_nodes = 3000, .num_features = 64, .seed = 2});
  // A bag-of-words-like sparse copy: the same graph with a sparse feature matrix.
  io::NodeDataset sparse = dense;
  sparse.x = {.dense = Tensor(), .sparse = SparseMatrix::from_dense(dense.x.dense)};
  const std::vector<std::pair<std::string, ModelConfig>> configs = {
      {"mlp", {.arch = Arch::kMlp, .hidden = 64}},
      {"gcn", {.arch = Arch::kGcn, .hidden = 64}},
      {"gcn3-aux", {.arch = Arch::kGcn, .hidden = 64, .layers = 3, .aux_heads = true}},
      {"sage", {.arch = Arch::kSage, .hidden = 64}},
      {"gin", {.arch = Arch::kGin, .hidden = 64}},
      {"gat", {.arch = Arch::kGat, .hidden = 8, .heads = 8, .attn_dropout = 0.5}},
  };
  for (const io::NodeDataset* data : {&dense, static_cast<const io::NodeDataset*>(&sparse)}) {
    for (const auto& named : configs) {
      ModelConfig mc = named.second;
      mc.in_dim = data->x.cols();
      mc.out_dim = data->num_classes;
      CAPTURE(named.first);
      CAPTURE(data->x.is_sparse());
      Model model(mc, 1);
      const size_t before = host_memory_stats().bytes_in_use;
      reset_host_peak();
      train_node_classifier(Context::cpu(), model, *data, {.epochs = 2});
      const double peak = static_cast<double>(host_memory_stats().peak_bytes - before);
      const double estimate =
          static_cast<double>(estimate_node_training_bytes(mc, data_shape(*data)));
      const std::string label = named.first + (data->x.is_sparse() ? " sparse" : " dense");
      MESSAGE(label, ": estimate ", estimate, " peak ", peak, " ratio ", estimate / peak);
      CHECK(estimate >= peak);
      CHECK(estimate <= 3 * peak);
    }
  }
  // The datasets themselves, with the self-loop and norm caches training built: the dense one and
  // the sparse copy (which shares the graph).
  const double held = static_cast<double>(host_memory_stats().bytes_in_use - empty);
  const double estimate = static_cast<double>(
      estimate_dataset_bytes(data_shape(dense)) + estimate_dataset_bytes(data_shape(sparse)) -
      estimate_dataset_bytes({.nodes = 3000, .edges = dense.graph.num_edges(), .features = 0}));
  MESSAGE("datasets: estimate ", estimate, " held ", held);
  CHECK(estimate >= held);
  CHECK(estimate <= 3 * held);
}

TEST_CASE("train: a non-finite gradient or loss never reaches the parameters, and is named") {
  const io::NodeDataset data = io::make_csbm({.num_nodes = 300, .seed = 6});
  const ModelConfig mc{.arch = Arch::kGcn, .in_dim = data.x.cols(), .out_dim = data.num_classes};
  // An extra parameter whose log has a finite value but an infinite gradient (1 / 1e-45
  // overflows f32) at epoch 4, or, at value -1, a NaN loss at epoch 6.
  autograd::Parameter probe{"probe", Tensor::full(1, 1, 1e-45, DType::kF32), {}};
  int64_t bad_epoch = 4;
  const ExtraLoss extra{.term =
                            [&](autograd::Tape& tape, const ModelOutput&, int64_t epoch) {
                              return epoch == bad_epoch ? autograd::log(tape.param(probe))
                                                        : autograd::Var();
                            },
                        .parameters = {&probe}};
  const auto all_finite = [](const Model& m) {
    for (const auto& named : m.named_parameters()) {
      for (float v : named.second->value.to_vector<float>()) {
        if (!std::isfinite(v)) return false;
      }
    }
    return true;
  };

  Model stopped(mc, 1);
  const NodeTrainResult a =
      train_node_classifier(Context::cpu(), stopped, data, {.epochs = 10}, {}, extra);
  CHECK(a.non_finite == "epoch 4: gcn: the gradient of probe holds NaN or Inf");
  CHECK(a.epochs_run == 3);
  CHECK(a.skipped_steps == 0);
  CHECK(all_finite(stopped));

  Model skipping(mc, 1);
  const NodeTrainResult b =
      train_node_classifier(Context::cpu(), skipping, data,
                            {.epochs = 10, .on_non_finite = NonFinitePolicy::kSkipStep}, {}, extra);
  CHECK(b.non_finite == "epoch 4: gcn: the gradient of probe holds NaN or Inf");
  CHECK(b.epochs_run == 10);
  CHECK(b.skipped_steps == 1);
  CHECK(all_finite(skipping));

  probe.value = Tensor::full(1, 1, -1.0, DType::kF32);
  bad_epoch = 6;
  Model nan_loss(mc, 1);
  const NodeTrainResult c =
      train_node_classifier(Context::cpu(), nan_loss, data, {.epochs = 10}, {}, extra);
  CHECK(c.non_finite == "epoch 6: gcn: the training loss is NaN");
  CHECK(c.epochs_run == 5);
  CHECK(all_finite(nan_loss));
}
