// Graph-classification models, batching, the mini-batch trainer, Xu et al.'s CV rule and model
// checkpoints: parameter gradients against central differences in double (batch norm in training
// and eval mode, every readout, OGB embeddings), a batch equal to its graphs one by one, learning
// a separable task, and save/load round trips.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <memory>

#include "autograd/functions_dense.h"
#include "engine/io/graph_dataset.h"
#include "models/checkpoint.h"
#include "models/graph_model.h"
#include "models/selection.h"
#include "models/train_graph.h"
#include "tests/support/checks.h"

using namespace gkd;
using namespace gkd::models;
using autograd::Tape;
using autograd::Var;

namespace {

// A cycle (label 0) or a star (label 1) on n nodes, with features x (one column of ones unless
// given) and optional integer edge ids.
io::GraphSample shape_graph(int64_t n, bool star, int64_t f = 1) {
  std::vector<int32_t> src, dst;
  for (int32_t v = 0; v < n; ++v) {
    const int32_t u = star ? 0 : (v + 1) % static_cast<int32_t>(n);
    if (star && v == 0) continue;
    src.push_back(v), dst.push_back(u), src.push_back(u), dst.push_back(v);
  }
  io::GraphSample s;
  s.graph = Graph::from_edges(n, src, dst);
  s.x = Tensor::full(n, f, 1.0, DType::kF32);
  s.label = star ? 1 : 0;
  return s;
}

io::GraphDataset shapes(int64_t count) {
  io::GraphDataset d{.name = "shapes", .samples = {}, .num_classes = 2, .num_node_features = 1};
  for (int64_t i = 0; i < count; ++i) d.samples.push_back(shape_graph(4 + i % 5, i % 2 == 1));
  return d;
}

// Random f64 features and, for OGB-style models, random ids within the vocabularies.
io::GraphDataset random_dataset(const GraphModelConfig& c, uint64_t seed) {
  io::GraphDataset d{
      .name = "random", .samples = {}, .num_classes = c.out_dim, .num_node_features = c.in_dim};
  for (int64_t i = 0; i < 3; ++i) {
    io::GraphSample s;
    s.graph = test::random_graph(5 + 2 * i, 2.0, seed + i);
    const int64_t n = s.graph.num_nodes();
    if (c.node_vocab.empty()) {
      s.x = test::random_tensor(n, c.in_dim, DType::kF64, seed + 10 + i);
    } else {
      std::vector<int64_t> ids;
      for (int64_t v = 0; v < n; ++v)
        for (int64_t vocab : c.node_vocab) ids.push_back((v * 7 + i) % vocab);
      s.x = Tensor::from_vector<int64_t>(n, c.in_dim, ids);
    }
    if (!c.edge_vocab.empty()) {
      std::vector<int64_t> ids;
      for (int64_t e = 0; e < s.graph.num_edges(); ++e)
        for (int64_t vocab : c.edge_vocab) ids.push_back((e * 3 + i) % vocab);
      s.edge_attr = Tensor::from_vector<int64_t>(s.graph.num_edges(),
                                                 static_cast<int64_t>(c.edge_vocab.size()), ids);
    }
    s.label = i % c.out_dim;
    d.samples.push_back(std::move(s));
  }
  return d;
}

double objective(const GraphModel& m, const io::GraphBatch& b, bool training, bool backward) {
  Tape tape(Context::cpu());
  const GraphModelOutput out = m.forward(tape, b, {.training = training, .seed = 5, .step = 3});
  std::vector<Var> outputs{out.logits};
  outputs.insert(outputs.end(), out.hidden.begin(), out.hidden.end());
  outputs.insert(outputs.end(), out.aux_logits.begin(), out.aux_logits.end());
  Var total;
  for (size_t k = 0; k < outputs.size(); ++k) {
    const Tensor r =
        test::random_tensor(outputs[k].rows(), outputs[k].cols(), DType::kF64, 100 + k);
    Var term = autograd::sum(autograd::mul(outputs[k], tape.constant(r)));
    total = total.defined() ? autograd::add(total, term) : term;
  }
  if (backward) tape.backward(total);
  return total.value().item<double>();
}

// Parameters and buffers in double at random (running variances positive); every parameter's
// gradient against central differences on up to 8 coordinates.
void check_gradients(GraphModel& m, const io::GraphBatch& b, bool training) {
  uint64_t seed = 300;
  for (auto& [name, p] : m.named_parameters()) {
    p->value = test::random_tensor(p->value.rows(), p->value.cols(), DType::kF64, seed++);
    p->grad = Tensor();
  }
  for (auto& [name, buf] : m.named_buffers()) {
    buf->value = test::random_tensor(1, buf->value.cols(), DType::kF64, seed++, 0.5, 1.5);
  }
  objective(m, b, training, true);
  for (auto& name_p : m.named_parameters()) {
    auto& name = name_p.first;
    auto& p = name_p.second;
    CAPTURE(name);
    REQUIRE(p->grad.defined());
    const std::vector<double> grad = p->grad.to_vector<double>();
    const int64_t n = p->value.numel();
    for (int64_t k = 0; k < std::min<int64_t>(n, 8); ++k) {
      const int64_t i = (k * 7919) % n;
      double* w = p->value.data<double>() + i;
      const double saved = *w, h = 1e-6 * std::max(1.0, std::abs(saved));
      *w = saved + h;
      const double up = objective(m, b, training, false);
      *w = saved - h;
      const double down = objective(m, b, training, false);
      *w = saved;
      const double numeric = (up - down) / (2 * h);
      CAPTURE(i);
      CHECK(std::abs(numeric - grad[i]) <=
            1e-6 + 1e-5 * std::max(std::abs(numeric), std::abs(grad[i])));
    }
  }
}

std::vector<int64_t> all_ids(const io::GraphDataset& d) {
  std::vector<int64_t> ids(d.samples.size());
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int64_t>(i);
  return ids;
}

// One config per layer type and option that changes the computation.
std::vector<GraphModelConfig> graph_model_cases() {
  return {// Xu et al.'s GIN: batch norm, sum readout of every layer.
          {.arch = Arch::kGin, .in_dim = 3, .out_dim = 2, .hidden = 4, .layers = 2},
          {.arch = Arch::kGin,
           .in_dim = 3,
           .out_dim = 3,
           .hidden = 4,
           .layers = 3,
           .readout = Readout::kMean,
           .jumping = false,
           .learn_eps = true,
           .aux_heads = true},
          {.arch = Arch::kGcn,
           .in_dim = 3,
           .out_dim = 2,
           .hidden = 4,
           .layers = 2,
           .batch_norm = false,
           .readout = Readout::kMax},
          {.arch = Arch::kSage, .in_dim = 3, .out_dim = 2, .hidden = 3, .layers = 1},
          // OGB's GIN: atom and bond embeddings.
          {.arch = Arch::kGin,
           .in_dim = 2,
           .out_dim = 2,
           .hidden = 4,
           .layers = 2,
           .node_vocab = {3, 4},
           .edge_vocab = {2, 3},
           .readout = Readout::kMean}};
}

}  // namespace

TEST_CASE("graph models: parameter gradients match central differences") {
  const std::vector<GraphModelConfig> configs = graph_model_cases();
  for (size_t k = 0; k < configs.size(); ++k) {
    for (bool training : {true, false}) {
      CAPTURE(k);
      CAPTURE(training);
      GraphModel m(configs[k], 7);
      const io::GraphDataset d = random_dataset(configs[k], 40 + k);
      check_gradients(m, io::make_batch(d, all_ids(d)), training);
    }
  }
}

TEST_CASE(
    "graph models: K students as one batch give each student's outputs, gradients and "
    "running statistics") {
  constexpr int64_t kStudents = 3;
  for (const GraphModelConfig& config : graph_model_cases()) {
    for (bool training : {true, false}) {
      CAPTURE(static_cast<int>(config.arch));
      CAPTURE(config.layers);
      CAPTURE(training);
      const io::GraphDataset d = random_dataset(config, 60);
      const io::GraphBatch b = io::make_batch(d, all_ids(d));
      // Two identical cohorts: one run one by one, one as a batch.
      std::vector<std::unique_ptr<GraphModel>> alone, batched;
      std::vector<const GraphModel*> cohort;
      std::vector<ForwardOptions> options;
      for (int64_t k = 0; k < kStudents; ++k) {
        for (auto* models : {&alone, &batched}) {
          models->push_back(std::make_unique<GraphModel>(config, 11 + k));
          uint64_t seed = 500 + 40 * k;
          for (auto& [name, p] : models->back()->named_parameters()) {
            p->value = test::random_tensor(p->value.rows(), p->value.cols(), DType::kF64, seed++);
          }
          for (auto& [name, buf] : models->back()->named_buffers()) {
            buf->value = test::random_tensor(1, buf->value.cols(), DType::kF64, seed++, 0.5, 1.5);
          }
        }
        cohort.push_back(batched.back().get());
        options.push_back({.training = training, .seed = 5 + static_cast<uint64_t>(k), .step = 3});
      }
      REQUIRE(GraphModel::can_batch(cohort));
      const auto projection = [](Tape& tape, const GraphModelOutput& out, uint64_t seed) {
        std::vector<Var> outputs{out.logits};
        outputs.insert(outputs.end(), out.hidden.begin(), out.hidden.end());
        outputs.insert(outputs.end(), out.aux_logits.begin(), out.aux_logits.end());
        Var total;
        for (size_t i = 0; i < outputs.size(); ++i) {
          const Tensor r =
              test::random_tensor(outputs[i].rows(), outputs[i].cols(), DType::kF64, seed + i);
          Var term = autograd::sum(autograd::mul(outputs[i], tape.constant(r)));
          total = total.defined() ? autograd::add(total, term) : term;
        }
        return total;
      };
      std::vector<GraphModelOutput> want;
      Tape one(Context::cpu());
      Var total;
      for (int64_t k = 0; k < kStudents; ++k) {
        want.push_back(alone[k]->forward(one, b, options[k]));
        Var term = projection(one, want.back(), 100 + 10 * k);
        total = total.defined() ? autograd::add(total, term) : term;
      }
      one.backward(total);
      Tape tape(Context::cpu());
      const std::vector<GraphModelOutput> got =
          GraphModel::forward_cohort(tape, b, cohort, options);
      Var sum;
      for (int64_t k = 0; k < kStudents; ++k) {
        Var term = projection(tape, got[k], 100 + 10 * k);
        sum = sum.defined() ? autograd::add(sum, term) : term;
      }
      tape.backward(sum);
      const auto close = [](const Tensor& a, const Tensor& b) {
        return test::close_ratio(test::to_eigen(a), test::to_eigen(b), 1e-12, 1e-12) <= 1.0;
      };
      for (int64_t k = 0; k < kStudents; ++k) {
        CAPTURE(k);
        CHECK(close(got[k].logits.value(), want[k].logits.value()));
        REQUIRE(got[k].hidden.size() == want[k].hidden.size());
        for (size_t l = 0; l < want[k].hidden.size(); ++l) {
          CHECK(close(got[k].hidden[l].value(), want[k].hidden[l].value()));
        }
        REQUIRE(got[k].aux_logits.size() == want[k].aux_logits.size());
        for (size_t l = 0; l < want[k].aux_logits.size(); ++l) {
          CHECK(close(got[k].aux_logits[l].value(), want[k].aux_logits[l].value()));
        }
        const auto pa = alone[k]->named_parameters(), pb = batched[k]->named_parameters();
        for (size_t i = 0; i < pa.size(); ++i) {
          CAPTURE(pa[i].first);
          REQUIRE(pb[i].second->grad.defined());
          CHECK(close(pb[i].second->grad, pa[i].second->grad));
        }
        const auto ba = alone[k]->named_buffers(), bb = batched[k]->named_buffers();
        for (size_t i = 0; i < ba.size(); ++i) {
          CAPTURE(ba[i].first);
          CHECK(close(bb[i].second->value, ba[i].second->value));
        }
      }
    }
  }
}

TEST_CASE("graph models: in eval mode a batch gives each graph's logits as if it were alone") {
  for (Readout readout : {Readout::kSum, Readout::kMean, Readout::kMax}) {
    CAPTURE(readout_name(readout));
    const GraphModelConfig c{.arch = Arch::kGin,
                             .in_dim = 3,
                             .out_dim = 2,
                             .hidden = 5,
                             .layers = 3,
                             .readout = readout};
    const GraphModel m(c, 3);
    const io::GraphDataset d = random_dataset(c, 90);
    for (auto& [name, p] : m.named_parameters()) p->value = p->value.to_dtype(DType::kF64);
    for (auto& [name, b] : m.named_buffers()) b->value = b->value.to_dtype(DType::kF64);
    Tape tape(Context::cpu());
    const Tensor batched =
        m.forward(tape, io::make_batch(d, all_ids(d)), {}).logits.value();  // [3, 2]
    for (int64_t i = 0; i < 3; ++i) {
      const std::vector<int64_t> one{i};
      const Tensor alone = m.forward(tape, io::make_batch(d, one), {}).logits.value();
      CHECK(test::close_ratio(test::to_eigen(alone), test::to_eigen(batched.slice_rows(i, i + 1)),
                              1e-12, 1e-12) <= 1.0);
    }
  }
}

TEST_CASE("make_batch stacks features, edge ids and labels in sample order") {
  GraphModelConfig c{.in_dim = 2, .out_dim = 2, .node_vocab = {3, 4}, .edge_vocab = {5}};
  const io::GraphDataset d = random_dataset(c, 5);
  const std::vector<int64_t> ids{2, 0};
  const io::GraphBatch b = io::make_batch(d, ids);
  const int64_t n2 = d.samples[2].graph.num_nodes(), e2 = d.samples[2].graph.num_edges();
  CHECK(b.graph.node_offsets() == std::vector<int64_t>{0, n2, n2 + d.samples[0].graph.num_nodes()});
  CHECK(b.x.slice_rows(0, n2).to_vector<int64_t>() == d.samples[2].x.to_vector<int64_t>());
  CHECK(b.edge_attr.slice_rows(e2, b.edge_attr.rows()).to_vector<int64_t>() ==
        d.samples[0].edge_attr.to_vector<int64_t>());
  CHECK(b.y.to_vector<int64_t>() == std::vector<int64_t>{d.samples[2].label, d.samples[0].label});
  const std::vector<int64_t> bad{3};
  CHECK_THROWS_WITH_AS(io::make_batch(d, bad), "[make_batch] sample 3 is outside [0, 3) of random",
                       Error);
}

TEST_CASE("train_graph: GIN separates cycles from stars, and the CV rule picks the best mean") {
  const io::GraphDataset d = shapes(40);
  GraphSplit split;
  for (int64_t i = 0; i < 40; ++i) (i % 4 == 0 ? split.test : split.train).push_back(i);
  GraphModel m({.in_dim = 1, .out_dim = 2, .hidden = 8, .layers = 2}, 1);
  const GraphTrainResult r =
      train_graph_classifier(Context::cpu(), m, d, split,
                             {.epochs = 30, .batch_size = 8, .iters_per_epoch = 0, .lr = 0.01});
  CHECK(r.history.size() == 30);
  CHECK(r.last_test == 100.0);
  CHECK(r.best_epoch == 30);  // no val graphs: the last epoch counts

  const CvSelection s = select_epoch_by_fold_mean({{50, 70, 60}, {70, 80, 90}});
  CHECK(s.epoch == 2);  // means 60, 75, 75: ties go to the earlier epoch
  CHECK(s.mean == 75.0);
  CHECK(s.std == doctest::Approx(std::sqrt(50.0)));
}

TEST_CASE("train_graph: a non-finite loss is caught before the step and named with the batch") {
  const io::GraphDataset d = shapes(40);
  GraphSplit split;
  for (int64_t i = 0; i < 40; ++i) (i % 4 == 0 ? split.test : split.train).push_back(i);
  GraphModel m({.in_dim = 1, .out_dim = 2, .hidden = 8, .layers = 2}, 1);
  m.parameters().front()->value.fill(NAN);
  for (NonFinitePolicy policy : {NonFinitePolicy::kStop, NonFinitePolicy::kSkipStep}) {
    CAPTURE(static_cast<int>(policy));
    // Poisoned weights make every batch's loss NaN: stop ends the run at once; skip ends it after
    // five skipped steps in a row. Neither leaves a finished epoch, so both are errors.
    CHECK_THROWS_WITH_AS(
        train_graph_classifier(
            Context::cpu(), m, d, split,
            {.epochs = 3, .batch_size = 4, .iters_per_epoch = 0, .on_non_finite = policy}),
        "[train_graph] epoch 1, batch 1: gin: the training loss is NaN (the run ended in its "
        "first epoch)",
        Error);
  }
}

TEST_CASE("checkpoints: a model saved and loaded gives the same logits; mismatches are refused") {
  const GraphModelConfig c{.arch = Arch::kGin, .in_dim = 1, .out_dim = 2, .hidden = 6};
  const io::GraphDataset d = shapes(6);
  GraphModel a(c, 1);
  train_graph_classifier(Context::cpu(), a, d, {.train = {0, 1, 2, 3}, .val = {}, .test = {4, 5}},
                         {.epochs = 2, .batch_size = 2, .iters_per_epoch = 0});
  const std::string path = (std::filesystem::temp_directory_path() /
                            ("gkd_model_" + std::to_string(test::fresh_seed()) + ".ckpt"))
                               .string();
  save_model(path, model_state(a), "{\"note\": 1}");
  GraphModel b(c, 99);  // different initial weights
  CHECK(load_model(path, model_state(b)) == "{\"note\": 1}");
  Tape tape(Context::cpu());
  const io::GraphBatch batch = io::make_batch(d, all_ids(d));
  CHECK(test::to_eigen(a.forward(tape, batch, {}).logits.value()) ==
        test::to_eigen(b.forward(tape, batch, {}).logits.value()));

  GraphModelConfig wider = c;
  wider.hidden = 7;
  GraphModel w(wider, 1);
  const std::vector<Tensor> before = snapshot(model_state(w));
  CHECK_THROWS_WITH_AS(
      load_model(path, model_state(w)),
      doctest::Contains("tensor layer1.mlp_weight1 is [1, 6] f32 cpu (expected [1, 7] f32 cpu)"),
      Error);
  const std::vector<Tensor> after = snapshot(model_state(w));
  for (size_t i = 0; i < before.size(); ++i)
    CHECK(before[i].to_vector<float>() == after[i].to_vector<float>());
  GraphModelConfig deeper = c;
  deeper.layers = 5;
  GraphModel dp(deeper, 1);
  CHECK_THROWS_WITH_AS(load_model(path, model_state(dp)), doctest::Contains("for this model"),
                       Error);
  std::filesystem::remove(path);
}

TEST_CASE("EpochSelector: best validation with loss tie-break, and the seed code's rule") {
  EpochSelector s(2);
  // epoch, train loss, val, val loss, test
  CHECK(s.observe({1, 1.0, 50, 0.9, 40}));
  CHECK_FALSE(s.observe({2, 0.8, 50, 0.95, 41}));  // tie on val, higher val loss: not better
  CHECK(s.observe({3, 0.7, 50, 0.85, 42}));        // tie on val, lower val loss: better
  CHECK_FALSE(s.observe({4, 0.9, 45, 0.80, 43}));  // looks (epoch 4): loss 0.9 > 0.8, val lower
  CHECK(s.observe({5, 0.6, 60, 0.70, 44}));
  CHECK_FALSE(s.observe({6, 0.5, 55, 0.75, 45}));  // looks: the loss dropped, so test 45 recorded
  CHECK(s.best_epoch() == 5);
  CHECK(s.best_val() == 60);
  CHECK(s.test_at_best() == 44);
  CHECK(s.paper_test() == 45);
  EpochSelector early(10);
  early.observe({1, 1.0, 50, 0.9, 40});
  CHECK(early.paper_test() == 40);  // no look before the end: the last epoch's test
}

TEST_CASE("graph models: auxiliary heads classify every intermediate layer's readout") {
  GraphModelConfig plain{.arch = Arch::kGin, .in_dim = 3, .out_dim = 2, .hidden = 4, .layers = 3};
  GraphModelConfig deep = plain;
  deep.aux_heads = true;
  const GraphModel a(plain, 9), b(deep, 9);
  // The model's own weights are drawn first, so aux heads leave them (and the logits) unchanged.
  const auto pa = a.named_parameters(), pb = b.named_parameters();
  REQUIRE(pb.size() == pa.size() + 4);  // aux1 and aux2, weight and bias each
  for (size_t i = 0; i < pa.size(); ++i) {
    CAPTURE(pa[i].first);
    CHECK(pb[i].first == pa[i].first);
    CHECK(pb[i].second->value.to_vector<float>() == pa[i].second->value.to_vector<float>());
  }
  CHECK(pb[pa.size()].first.starts_with("aux1."));
  CHECK(pb.back().first.starts_with("aux2."));
  const io::GraphDataset d = random_dataset(plain, 12);
  io::GraphBatch batch = io::make_batch(d, all_ids(d));
  batch.x = batch.x.to_dtype(DType::kF32);  // the fixtures are f64, the models' weights f32
  Tape tape(Context::cpu());
  const GraphModelOutput oa = a.forward(tape, batch, {}), ob = b.forward(tape, batch, {});
  CHECK(oa.aux_logits.empty());
  REQUIRE(ob.aux_logits.size() == 2);
  CHECK(ob.logits.value().to_vector<float>() == oa.logits.value().to_vector<float>());
  for (const Var& z : ob.aux_logits) {
    CHECK(z.rows() == static_cast<int64_t>(d.samples.size()));
    CHECK(z.cols() == 2);
  }
}
