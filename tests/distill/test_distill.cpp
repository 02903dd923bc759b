// Offline distillation (distill/offline.h): each term equals its definition from the autograd
// functions, the epoch window switches it on and off, bad layer choices are refused, and KD from
// a GCN teacher lifts an MLP student far above the same MLP trained alone (the teacher's soft
// labels on unlabelled nodes carry the graph's information).
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "autograd/functions_dense.h"
#include "autograd/functions_loss.h"
#include "autograd/optim.h"
#include "distill/mskd.h"
#include "distill/offline.h"
#include "distill/online.h"
#include "distill/online_inductive.h"
#include "engine/io/synthetic.h"
#include "engine/ops_dense.h"
#include "engine/ops_structure.h"
#include "models/selection.h"
#include "models/train_node.h"
#include "tests/distill/distill_checks.h"
#include "tests/support/checks.h"

using namespace gkd;
using autograd::Tape;
using autograd::Var;
using test::value;

namespace {

const io::NodeDataset& csbm() {
  static const io::NodeDataset data =
      io::make_csbm({.num_nodes = 400, .num_classes = 3, .num_features = 8, .seed = 4});
  return data;
}

models::ModelConfig gcn(int64_t layers) {
  return {.arch = models::Arch::kGcn,
          .in_dim = 8,
          .out_dim = 3,
          .hidden = 6,
          .layers = layers,
          .dropout = 0};
}

// A small dataset in PPI's shape: random graphs whose labels are signs of linear read-outs of the
// node features (learnable), 6 / 2 / 2 graphs of 30 nodes, 6 features, 4 labels.
io::PpiDataset tiny_ppi() {
  io::PpiDataset d{.train = {}, .valid = {}, .test = {}, .num_features = 6, .num_labels = 4};
  const Tensor readout = test::random_tensor(6, 4, DType::kF32, 77);
  uint64_t seed = 1;
  for (io::PpiSplit* split : {&d.train, &d.valid, &d.test}) {
    for (int g = 0; g < (split == &d.train ? 6 : 2); ++g, ++seed) {
      split->graphs.push_back(test::random_graph(30, 3.0, seed));
      split->x.push_back(test::random_tensor(30, 6, DType::kF32, 100 + seed));
      const Tensor z = ops::matmul(Context::cpu(), split->x.back(), readout);
      std::vector<float> y = z.to_vector<float>();
      for (float& v : y) v = v > 0 ? 1.0f : 0.0f;
      split->y.push_back(Tensor::from_vector<float>(30, 4, y));
    }
  }
  return d;
}

models::ModelConfig ppi_student(bool aux) {
  return {.arch = models::Arch::kGat,
          .in_dim = 6,
          .out_dim = 4,
          .hidden = 4,
          .layers = 3,
          .heads = 2,
          .dropout = 0,
          .aux_heads = aux};
}

}  // namespace

TEST_CASE("distill: each term equals its definition, inside its epoch window only") {
  const Context ctx = Context::cpu();
  const io::NodeDataset& data = csbm();
  const models::Model teacher(gcn(3), 1);
  const models::Model student(gcn(2), 2);
  const distill::TeacherOutputs t = distill::run_teacher(ctx, teacher, data);
  REQUIRE(t.hidden.size() == 2);
  for (distill::Method method :
       {distill::Method::kKd, distill::Method::kFitnet, distill::Method::kLsp}) {
    CAPTURE(distill::method_name(method));
    distill::OfflineDistiller d({.method = method,
                                 .weight = 0.5,
                                 .temperature = 3.0,
                                 .teacher_layer = 0,
                                 .start_epoch = 2,
                                 .end_epoch = 3},
                                teacher.config(), student.config(), 7);
    const models::ExtraLoss extra = d.extra_loss(data.graph, t);
    CHECK(extra.parameters.size() == (method == distill::Method::kFitnet ? 1u : 0u));
    Tape tape(ctx);
    const models::ModelOutput out = student.forward(tape, data.graph, data.x, {});
    CHECK_FALSE(extra.term(tape, out, 1).defined());
    CHECK_FALSE(extra.term(tape, out, 4).defined());
    const Var got = extra.term(tape, out, 2);
    Var want;
    if (method == distill::Method::kKd) {
      want = autograd::kl_div(out.logits, tape.constant(t.logits), 3.0);
    } else if (method == distill::Method::kFitnet) {
      want = autograd::mse(autograd::matmul(out.hidden[0], tape.param(*extra.parameters[0])),
                           tape.constant(t.hidden[0]));
    } else {
      want = autograd::structure_kl(data.graph, out.hidden[0], tape.constant(t.hidden[0]));
    }
    CHECK(value(got) == doctest::Approx(0.5 * value(want)).epsilon(1e-6));
    CHECK(value(want) > 0);
  }
}

TEST_CASE(
    "distill: on inductive batches the teacher runs on the batch; multi-label KD by definition") {
  const Context ctx = Context::cpu();
  const io::NodeDataset& data = csbm();  // its graph and features stand in for one step's batch
  const models::Model teacher(gcn(3), 1);
  const models::Model student(gcn(2), 2);
  constexpr double kT = 2.5;
  for (distill::Method method :
       {distill::Method::kKd, distill::Method::kFitnet, distill::Method::kLsp}) {
    CAPTURE(distill::method_name(method));
    distill::OfflineDistiller d(
        {.method = method, .weight = 0.5, .temperature = kT, .teacher_layer = 0, .end_epoch = 3},
        teacher.config(), student.config(), 7);
    const models::InductiveExtraLoss extra = d.inductive_extra_loss(teacher);
    Tape tape(ctx);
    const models::ModelOutput out = student.forward(tape, data.graph, data.x, {});
    CHECK_FALSE(extra.term(tape, data.graph, data.x, out, 4).defined());
    const Var got = extra.term(tape, data.graph, data.x, out, 2);
    const distill::TeacherOutputs t = distill::run_teacher(ctx, teacher, data.graph, data.x);
    CHECK(value(got) == doctest::Approx(value(d.term(tape, data.graph, out, t, 2, true))));
    if (method != distill::Method::kKd) continue;
    // T² · mean over nodes and labels of the binary KL of σ(z_t / T) to σ(z_s / T).
    const Eigen::MatrixXd zs = test::to_eigen(out.logits.value()), zt = test::to_eigen(t.logits);
    double kl = 0;
    for (int64_t i = 0; i < zs.rows(); ++i) {
      for (int64_t j = 0; j < zs.cols(); ++j) {
        const double ps = 1 / (1 + std::exp(-zs(i, j) / kT)),
                     pt = 1 / (1 + std::exp(-zt(i, j) / kT));
        kl += pt * std::log(pt / ps) + (1 - pt) * std::log((1 - pt) / (1 - ps));
      }
    }
    const double want = 0.5 * kT * kT * kl / double(zs.size());
    CHECK(value(got) == doctest::Approx(want).epsilon(1e-4));
    // Zero when the student's logits are the teacher's.
    const models::ModelOutput same{.logits = tape.leaf(t.logits), .hidden = {}, .aux_logits = {}};
    CHECK(std::abs(value(d.term(tape, data.graph, same, t, 2, true))) < 1e-6);
  }
}

TEST_CASE("distill: layer choices outside the models are refused with the option named") {
  const models::ModelConfig t = gcn(2);  // one hidden layer, 3 classes
  CHECK_THROWS_WITH_AS(
      distill::OfflineDistiller({.method = distill::Method::kLsp, .student_layer = 1}, t, gcn(2),
                                0),
      "[distill] student_layer is 1 but the model has 1 hidden layers (expected -1 .. 0)", Error);
  CHECK_THROWS_WITH_AS(
      distill::OfflineDistiller({.method = distill::Method::kFitnet, .teacher_layer = -2}, t,
                                gcn(2), 0),
      "[distill] teacher_layer is -2 but the model has 1 hidden layers (expected -1 .. 0)", Error);
  models::ModelConfig four_classes = gcn(2);
  four_classes.out_dim = 4;
  CHECK_THROWS_WITH_AS(distill::OfflineDistiller({}, t, four_classes, 0),
                       "[distill] the teacher predicts 3 classes, the student 4", Error);
  CHECK_THROWS_WITH_AS(distill::method_from_string("dkd"),
                       "distillation method 'dkd' is unknown (expected kd, fitnet or lsp)", Error);
}

TEST_CASE("distill: KD from a GCN teacher lifts an MLP student above the MLP alone") {
  const Context ctx = Context::cpu();
  const io::NodeDataset data = io::make_csbm({.num_nodes = 1000, .seed = 9});
  const models::NodeTrainOptions budget{.epochs = 100, .lr = 0.01, .seed = 1};
  models::Model teacher({.arch = models::Arch::kGcn,
                         .in_dim = data.x.cols(),
                         .out_dim = data.num_classes,
                         .hidden = 16},
                        1);
  const double teacher_acc = models::train_node_classifier(ctx, teacher, data, budget).test_acc;
  const models::ModelConfig mlp{.arch = models::Arch::kMlp,
                                .in_dim = data.x.cols(),
                                .out_dim = data.num_classes,
                                .hidden = 32};
  models::Model alone(mlp, 2);
  const double alone_acc = models::train_node_classifier(ctx, alone, data, budget).test_acc;
  models::Model student(mlp, 2);
  distill::OfflineDistiller d({.method = distill::Method::kKd, .temperature = 1.0},
                              teacher.config(), mlp, 3);
  const double student_acc = models::train_node_classifier(
                                 ctx, student, data, budget, {},
                                 d.extra_loss(data.graph, distill::run_teacher(ctx, teacher, data)))
                                 .test_acc;
  INFO("teacher " << teacher_acc << ", MLP alone " << alone_acc << ", MLP student " << student_acc);
  CHECK(teacher_acc > alone_acc + 10);
  CHECK(student_acc > alone_acc + 5);
}

namespace {

models::ModelConfig student_config(bool aux) {
  return {.arch = models::Arch::kGcn,
          .in_dim = 8,
          .out_dim = 3,
          .hidden = 6,
          .layers = 4,
          .dropout = 0,
          .aux_heads = aux};
}

}  // namespace

TEST_CASE("online: a cohort of one with no peers trains exactly as the model alone") {
  const Context ctx = Context::cpu();
  const io::NodeDataset& data = csbm();
  const models::NodeTrainOptions budget{.epochs = 15, .lr = 0.01, .seed = 1};
  models::Model alone(student_config(false), 3), member(student_config(false), 3);
  const models::NodeTrainResult a = models::train_node_classifier(ctx, alone, data, budget);
  const std::vector<models::Model*> cohort{&member};
  const distill::CohortResult c =
      distill::train_cohort(ctx, cohort, data, budget, {.method = distill::OnlineMethod::kOc});
  REQUIRE(c.students.size() == 1);
  for (size_t e = 0; e < a.history.size(); ++e) {
    CAPTURE(e);
    CHECK(c.students[0].history[e].train_loss == a.history[e].train_loss);
    CHECK(c.students[0].history[e].val_acc == a.history[e].val_acc);
  }
  CHECK(c.students[0].test_acc == a.test_acc);
  CHECK(c.ensemble_test_acc == a.test_acc);  // the restored best state, alone
}

TEST_CASE("online: each student's first-epoch loss is its definition, for every method") {
  const Context ctx = Context::cpu();
  const io::NodeDataset& data = csbm();
  const test::OnlineCase cases[] = {
      {distill::OnlineMethod::kDml, 0, distill::FeatureDistance::kMse},
      {distill::OnlineMethod::kOc, 0, distill::FeatureDistance::kMse},
      {distill::OnlineMethod::kAlignahead, 1, distill::FeatureDistance::kMse},
      {distill::OnlineMethod::kAlignahead, -1, distill::FeatureDistance::kMse},
      {distill::OnlineMethod::kAlignaheadPlus, 1, distill::FeatureDistance::kMse},
      {distill::OnlineMethod::kAlignaheadPlus, -1, distill::FeatureDistance::kCosine},
      {distill::OnlineMethod::kAlignaheadPlus, 1, distill::FeatureDistance::kNormalizedMse}};
  for (const test::OnlineCase& k : cases) {
    for (distill::Schedule schedule :
         {distill::Schedule::kSimultaneous, distill::Schedule::kAlternating}) {
      CAPTURE(distill::online_method_name(k.method));
      CAPTURE(k.shift);
      CAPTURE(static_cast<int>(schedule));
      const bool plus = k.method == distill::OnlineMethod::kAlignaheadPlus;
      const distill::OnlineOptions o{.method = k.method,
                                     .weight = 0.7,
                                     .temperature = 2.0,
                                     .shift = k.shift,
                                     .schedule = schedule,
                                     .feature_weight = 0.3,
                                     .feature_distance = k.distance,
                                     .aux_weight = 0.4,
                                     .batch_students = distill::BatchStudents::kAlways};
      std::vector<models::Model> students;
      for (uint64_t s = 0; s < 3; ++s) students.emplace_back(student_config(plus), 10 + s);
      // Expected losses at the initial weights, from the definitions.
      std::vector<double> want(3);
      {
        Tape tape(ctx);
        std::vector<models::ModelOutput> outs;
        for (auto& s : students) outs.push_back(s.forward(tape, data.graph, data.x, {}));
        for (int m = 0; m < 3; ++m) {
          Var loss = autograd::cross_entropy(outs[m].logits, data.y, data.train_mask);
          for (const Var& aux : outs[m].aux_logits) {
            loss = autograd::add(
                loss, autograd::scale(autograd::cross_entropy(aux, data.y, data.train_mask), 0.4));
          }
          double distill = 0;
          for (int p = 0; p < 3; ++p) {
            if (p == m) continue;
            distill +=
                k.method == distill::OnlineMethod::kDml
                    ? value(autograd::kl_div(outs[m].logits, outs[p].logits, 2.0))
                    : test::aligned_terms(data.graph, outs[m].hidden, outs[p].hidden, k, 0.3);
          }
          want[m] = value(loss) + 0.7 * distill / 2.0;
        }
      }
      std::vector<models::Model*> pointers;
      for (auto& s : students) pointers.push_back(&s);
      const distill::CohortResult r =
          distill::train_cohort(ctx, pointers, data, {.epochs = 1, .seed = 1}, o);
      // Alternating: student m steps after students < m did, so only student 0 sees the initial
      // peers; simultaneous: everyone does.
      const int checked = schedule == distill::Schedule::kSimultaneous ? 3 : 1;
      for (int m = 0; m < checked; ++m) {
        CAPTURE(m);
        CHECK(r.students[m].history[0].train_loss == doctest::Approx(want[m]).epsilon(1e-5));
      }
    }
  }
}

TEST_CASE("online: students run as one batch train as they do one by one") {
  const Context ctx = Context::cpu();
  const io::NodeDataset& data = csbm();
  struct Case {
    const char* name;
    models::ModelConfig config;
    distill::OnlineOptions online;
  };
  const Case cases[] = {
      {"dml gcn", gcn(2), {.method = distill::OnlineMethod::kDml, .temperature = 2.0}},
      {"gml gcn with alw",
       gcn(2),
       {.method = distill::OnlineMethod::kGml, .entropy_weight = 0.1, .alw_rank = 4}},
      {"alignahead++ gat",
       {.arch = models::Arch::kGat,
        .in_dim = 8,
        .out_dim = 3,
        .hidden = 4,
        .layers = 3,
        .heads = 2,
        .out_heads = 2,
        .attn_dropout = 0.2,
        .residual = models::Residual::kLinear,
        .aux_heads = true},
       {.method = distill::OnlineMethod::kAlignaheadPlus, .feature_weight = 0.3}},
      {"alignahead sage-pool",
       {.arch = models::Arch::kSage,
        .in_dim = 8,
        .out_dim = 3,
        .hidden = 5,
        .layers = 3,
        .aggregator = models::SageAggregator::kPool},
       {.method = distill::OnlineMethod::kAlignahead}},
  };
  for (const Case& c : cases) {
    CAPTURE(c.name);
    std::vector<distill::CohortResult> results;
    std::vector<std::vector<models::Model>> cohorts(2);
    for (bool batched : {true, false}) {
      models::ModelConfig config = c.config;
      config.dropout = 0.3;
      std::vector<models::Model>& students = cohorts[batched ? 0 : 1];
      for (uint64_t s = 0; s < 3; ++s) students.emplace_back(config, 20 + s);
      std::vector<models::Model*> pointers;
      for (auto& s : students) pointers.push_back(&s);
      distill::OnlineOptions o = c.online;
      o.batch_students = batched ? distill::BatchStudents::kAlways : distill::BatchStudents::kNever;
      results.push_back(distill::train_cohort(ctx, pointers, data,
                                              {.epochs = 6, .seed = 3, .restore_best = false}, o));
    }
    CHECK(results[0].batched);
    CHECK_FALSE(results[1].batched);
    for (size_t m = 0; m < 3; ++m) {
      CAPTURE(m);
      const auto& batched = results[0].students[m].history;
      const auto& alone = results[1].students[m].history;
      REQUIRE(batched.size() == alone.size());
      for (size_t e = 0; e < batched.size(); ++e) {
        CHECK(batched[e].train_loss == doctest::Approx(alone[e].train_loss).epsilon(1e-4));
        CHECK(batched[e].val_loss == doctest::Approx(alone[e].val_loss).epsilon(1e-4));
      }
      const auto pa = cohorts[0][m].parameters(), pb = cohorts[1][m].parameters();
      for (size_t i = 0; i < pa.size(); ++i) {
        CAPTURE(pa[i]->name);
        CHECK(test::close_ratio(test::to_eigen(pa[i]->value), test::to_eigen(pb[i]->value), 1e-4,
                                1e-5) <= 1.0);
      }
    }
  }
}

TEST_CASE("online: configuration errors name the problem") {
  const Context ctx = Context::cpu();
  models::Model a({.arch = models::Arch::kGcn, .in_dim = 8, .out_dim = 3, .layers = 1}, 1);
  const std::vector<models::Model*> one_layer{&a};
  CHECK_THROWS_WITH_AS(
      distill::train_cohort(ctx, one_layer, csbm(), {.epochs = 1},
                            {.method = distill::OnlineMethod::kAlignahead}),
      doctest::Contains("alignahead aligns hidden layers, but the students have 1 layer(s)"),
      Error);
  models::Model b(student_config(false), 1);
  const std::vector<models::Model*> no_aux{&b};
  CHECK_THROWS_WITH_AS(distill::train_cohort(ctx, no_aux, csbm(), {.epochs = 1},
                                             {.method = distill::OnlineMethod::kAlignaheadPlus}),
                       doctest::Contains("needs students with auxiliary heads"), Error);
}

TEST_CASE("divergence: a non-finite loss stops the run before its step, the best state is kept") {
  const Context ctx = Context::cpu();
  const io::NodeDataset& data = csbm();
  models::Model m(student_config(false), 4);
  models::ExtraLoss poison;
  poison.term = [](Tape& tape, const models::ModelOutput&, int64_t epoch) {
    return epoch == 6 ? tape.constant(Tensor::full(1, 1, NAN, DType::kF32)) : Var();
  };
  const models::NodeTrainResult r = models::train_node_classifier(
      ctx, m, data, {.epochs = 20, .lr = 0.01, .seed = 1}, {}, poison);
  CHECK(r.diverged_epoch == 6);
  CHECK(r.history.size() == 5);
  for (autograd::Parameter* p : m.parameters()) {
    for (float v : p->value.to_vector<float>()) REQUIRE(std::isfinite(v));
  }
  // A cohort with a poisoned student stops before any step.
  models::Model a(student_config(false), 4), b(student_config(false), 5);
  b.parameters().front()->value.fill(NAN);
  const std::vector<models::Model*> cohort{&a, &b};
  CHECK_THROWS_WITH_AS(distill::train_cohort(ctx, cohort, data, {.epochs = 3}, {}),
                       "[cohort] epoch 1: student 0 (gcn): the training loss is NaN; epoch 1: "
                       "student 1 (gcn): the training loss is NaN (the run ended in its first "
                       "epoch)",
                       Error);
  models::DivergenceMonitor jump(10);
  CHECK_FALSE(jump.observe(1, 1.0));
  CHECK_FALSE(jump.observe(2, 0.05));
  CHECK(jump.observe(3, 0.6));  // 12x the lowest
  CHECK_FALSE(jump.observe(4, 0.7));
  CHECK(jump.epoch() == 3);
}

TEST_CASE("clip_grad_norm: PyTorch's global-norm rule") {
  const Context ctx = Context::cpu();
  autograd::Parameter p{"p", Tensor::zeros(1, 2, DType::kF64),
                        Tensor::from_vector<double>(1, 2, {3, 0})};
  autograd::Parameter q{"q", Tensor::zeros(1, 1, DType::kF64),
                        Tensor::from_vector<double>(1, 1, {4})};
  autograd::Parameter none{"none", Tensor::zeros(1, 1, DType::kF64), {}};
  CHECK(autograd::clip_grad_norm(ctx, {&p, &q, &none}, 10.0) == doctest::Approx(5.0));
  CHECK(q.grad.to_vector<double>()[0] == 4.0);  // below the limit: untouched
  CHECK(autograd::clip_grad_norm(ctx, {&p, &q, &none}, 1.0) == doctest::Approx(5.0));
  CHECK(p.grad.to_vector<double>()[0] == doctest::Approx(3.0 / (5.0 + 1e-6)));
  CHECK(q.grad.to_vector<double>()[0] == doctest::Approx(4.0 / (5.0 + 1e-6)));
}

TEST_CASE("online: GML's first-epoch loss in a mixed cohort, and ALW changes the training") {
  const Context ctx = Context::cpu();
  const io::NodeDataset& data = csbm();
  const auto make = [](models::Arch arch, uint64_t seed) {
    return models::Model(
        {.arch = arch, .in_dim = 8, .out_dim = 3, .hidden = 6, .heads = 2, .dropout = 0}, seed);
  };
  std::vector<models::Model> students;
  students.push_back(make(models::Arch::kGcn, 1));
  students.push_back(make(models::Arch::kGat, 2));
  students.push_back(make(models::Arch::kSage, 3));
  std::vector<double> want(3);
  {
    Tape tape(ctx);
    std::vector<Var> z;
    for (auto& s : students) z.push_back(s.forward(tape, data.graph, data.x, {}).logits);
    for (int m = 0; m < 3; ++m) {
      double kl = 0;
      for (int p = 0; p < 3; ++p) {
        if (p != m) kl += value(autograd::kl_div(z[m], z[p], 2.0));
      }
      // At the start φ = 0, so the ALW weights are 1 and z̃ = z.
      want[m] = value(autograd::cross_entropy(z[m], data.y, data.train_mask)) -
                0.3 * value(autograd::entropy(z[m], 2.0)) + 0.5 * kl / 2.0;
    }
  }
  std::vector<models::Model*> pointers;
  for (auto& s : students) pointers.push_back(&s);
  const distill::OnlineOptions gml{.method = distill::OnlineMethod::kGml,
                                   .weight = 0.5,
                                   .temperature = 2.0,
                                   .entropy_weight = 0.3,
                                   .alw_rank = 4};
  const distill::CohortResult r =
      distill::train_cohort(ctx, pointers, data, {.epochs = 3, .seed = 1}, gml);
  for (int m = 0; m < 3; ++m) {
    CAPTURE(m);
    CHECK(r.students[m].history[0].train_loss == doctest::Approx(want[m]).epsilon(1e-5));
  }
  // Without ALW the first epoch is the same and later ones differ (the weights learn).
  std::vector<models::Model> again;
  again.push_back(make(models::Arch::kGcn, 1));
  again.push_back(make(models::Arch::kGat, 2));
  again.push_back(make(models::Arch::kSage, 3));
  std::vector<models::Model*> again_pointers;
  for (auto& s : again) again_pointers.push_back(&s);
  distill::OnlineOptions no_alw = gml;
  no_alw.alw_rank = 0;
  const distill::CohortResult plain =
      distill::train_cohort(ctx, again_pointers, data, {.epochs = 3, .seed = 1}, no_alw);
  CHECK(plain.students[0].history[0].train_loss == r.students[0].history[0].train_loss);
  CHECK(plain.students[0].history[2].train_loss != r.students[0].history[2].train_loss);
}

TEST_CASE("mskd: the code's weights and curriculum, and per-node attention, by definition") {
  const Context ctx = Context::cpu();
  const io::NodeDataset& data = csbm();
  std::vector<models::Model> teachers;
  for (int64_t layers : {2, 3, 4}) teachers.emplace_back(gcn(layers), 20 + layers);
  std::vector<distill::TeacherOutputs> outputs;
  for (auto& t : teachers) outputs.push_back(distill::run_teacher(ctx, t, data));
  const models::Model student(student_config(false), 5);  // 3 hidden layers
  Tape tape(ctx);
  const models::ModelOutput out = student.forward(tape, data.graph, data.x, {});
  const Tensor zs = out.logits.value();

  // Weights: α̃_k = mean(z_sᵀ z_k), normalised, w = round(7 softmax(α̂), 2).
  std::vector<double> alpha;
  for (const auto& t : outputs) {
    const Eigen::MatrixXd m = test::to_eigen(zs).transpose() * test::to_eigen(t.logits);
    alpha.push_back(m.mean());
  }
  const double total = alpha[0] + alpha[1] + alpha[2];
  double norm = 0;
  for (double& a : alpha) norm += std::exp(a /= total);
  distill::MskdDistiller code({.lambda = 7.0, .stage_epochs = 10, .warmup = 4, .student_layer = 1},
                              outputs, zs, student.config().layers - 1, 30);
  for (int k = 0; k < 3; ++k) {
    CHECK(code.teacher_weights()[k] ==
          doctest::Approx(std::round(700 * std::exp(alpha[k]) / norm) / 100));
  }
  // Curriculum: stage k (epochs 10k+1 .. 10k+10) uses teacher k for its first 4 epochs.
  const models::ExtraLoss extra = code.extra_loss(data.graph);
  for (int64_t epoch : {1, 4, 11, 14, 21, 24}) {
    CAPTURE(epoch);
    const int k = static_cast<int>((epoch - 1) / 10);
    const double want = code.teacher_weights()[k] *
                        value(autograd::structure_kl(data.graph, out.hidden[1],
                                                     tape.constant(outputs[k].hidden.back())));
    CHECK(value(extra.term(tape, out, epoch)) == doctest::Approx(want).epsilon(1e-6));
  }
  for (int64_t epoch : {5, 10, 15, 30}) CHECK_FALSE(extra.term(tape, out, epoch).defined());

  // Node attention: λ Σ_k (1/N) Σ_v softmax_k(−H(p_k(v)))·KL_v(P_k ‖ P_s).
  distill::MskdDistiller attention({.weighting = distill::MskdWeighting::kNodeAttention,
                                    .lambda = 0.5,
                                    .warmup = 0,
                                    .student_layer = -1},
                                   outputs, zs, student.config().layers - 1, 30);
  const int64_t n = data.graph.num_nodes();
  Eigen::MatrixXd score(3, n);
  for (int k = 0; k < 3; ++k) {
    const Eigen::MatrixXd z = test::to_eigen(outputs[k].logits);
    for (int64_t v = 0; v < n; ++v) {
      const Eigen::RowVectorXd p = (z.row(v).array() - z.row(v).maxCoeff()).exp().matrix();
      const Eigen::RowVectorXd q = p / p.sum();
      score(k, v) = (q.array() * q.array().log()).sum();  // −H
    }
  }
  ops::StructurePairs pairs;
  for (const auto& t : outputs) pairs.emplace_back(out.hidden[2].value(), t.hidden.back());
  const Eigen::MatrixXd kl = test::to_eigen(ops::structure_kl(ctx, data.graph, pairs, {}).kl);
  double want = 0;
  for (int64_t v = 0; v < n; ++v) {
    const Eigen::VectorXd e = (score.col(v).array() - score.col(v).maxCoeff()).exp().matrix();
    for (int k = 0; k < 3; ++k) want += e(k) / e.sum() * kl(k, v);
  }
  want *= 0.5 / double(n);
  CHECK(value(attention.extra_loss(data.graph).term(tape, out, 7)) ==
        doctest::Approx(want).epsilon(1e-5));
}

TEST_CASE("mskd inductive: the teachers run on the step's batch; multi-label attention") {
  const Context ctx = Context::cpu();
  const io::NodeDataset& data = csbm();
  std::vector<models::Model> teachers;
  for (int64_t layers : {2, 3}) teachers.emplace_back(gcn(layers), 30 + layers);
  std::vector<distill::TeacherOutputs> outputs;
  std::vector<const models::Model*> models;
  for (auto& t : teachers) {
    outputs.push_back(distill::run_teacher(ctx, t, data));
    models.push_back(&t);
  }
  const models::Model student(student_config(false), 6);
  Tape tape(ctx);
  const models::ModelOutput out = student.forward(tape, data.graph, data.x, {});
  // A batch that is the whole graph: the per-step teacher passes equal the fixed outputs.
  distill::MskdDistiller code({.lambda = 7.0, .stage_epochs = 10, .warmup = 4, .student_layer = 1},
                              outputs, out.logits.value(), student.config().layers - 1, 20);
  const models::ExtraLoss fixed = code.extra_loss(data.graph);
  const models::InductiveExtraLoss per_step = code.inductive_extra_loss(models);
  for (int64_t epoch : {1, 4, 5, 11, 14, 15}) {
    CAPTURE(epoch);
    const Var a = per_step.term(tape, data.graph, data.x, out, epoch);
    const Var b = fixed.term(tape, out, epoch);
    REQUIRE(a.defined() == b.defined());
    if (a.defined()) CHECK(value(a) == doctest::Approx(value(b)).epsilon(1e-12));
  }
  // Multi-label confidence: −Σ_labels binary entropy of σ(z); a_vk = softmax_k(−H_k(v) / τ).
  const Eigen::MatrixXd attention = test::to_eigen(distill::node_attention(outputs, 2.0, true));
  const int64_t n = data.graph.num_nodes();
  for (int64_t v = 0; v < n; v += 17) {
    Eigen::Vector2d score;
    for (int k = 0; k < 2; ++k) {
      const Eigen::ArrayXd p =
          1.0 / (1.0 + (-test::to_eigen(outputs[k].logits).row(v).transpose().array()).exp());
      score(k) = (p * p.log() + (1 - p) * (1 - p).log()).sum() / 2.0;
    }
    const Eigen::Vector2d e = (score.array() - score.maxCoeff()).exp().matrix();
    for (int k = 0; k < 2; ++k) CHECK(attention(k, v) == doctest::Approx(e(k) / e.sum()));
  }
}

TEST_CASE("cohort: a GML cohort interrupted mid-way resumes from its state file bit-identically") {
  const Context ctx = Context::cpu();
  const io::NodeDataset& data = csbm();
  models::ModelConfig gat = student_config(false);
  gat.arch = models::Arch::kGat;
  gat.layers = 2;
  gat.heads = 2;
  gat.dropout = 0.3;
  models::ModelConfig gcn2 = student_config(false);
  gcn2.layers = 2;
  gcn2.dropout = 0.3;
  const distill::OnlineOptions gml{
      .method = distill::OnlineMethod::kGml, .entropy_weight = 0.1, .alw_rank = 3};
  const auto cohort_of = [&](std::vector<models::Model>& owned) {
    owned.clear();
    owned.emplace_back(gcn2, 1);
    owned.emplace_back(gat, 2);
    return std::vector<models::Model*>{&owned[0], &owned[1]};
  };
  models::NodeTrainOptions o{.epochs = 15, .seed = 3};
  std::vector<models::Model> a, b, c;
  const distill::CohortResult whole = distill::train_cohort(ctx, cohort_of(a), data, o, gml);

  const std::string path = "test_distill_cohort.state.ckpt";
  std::remove(path.c_str());
  o.state = {.path = path, .every = 4, .resume = true, .tag = "gml cohort"};
  CHECK_THROWS_WITH(distill::train_cohort(ctx, cohort_of(b), data, o, gml,
                                          [](int64_t, const models::EpochMetrics& m) {
                                            if (m.epoch == 10) throw std::runtime_error("killed");
                                          }),
                    "killed");
  const distill::CohortResult resumed = distill::train_cohort(ctx, cohort_of(c), data, o, gml);
  for (size_t k = 0; k < 2; ++k) {
    CAPTURE(k);
    CHECK(resumed.students[k].resumed_epoch == 8);
    REQUIRE(resumed.students[k].history.size() == whole.students[k].history.size());
    for (size_t e = 0; e < whole.students[k].history.size(); ++e) {
      CHECK(resumed.students[k].history[e].train_loss == whole.students[k].history[e].train_loss);
    }
    CHECK(resumed.students[k].test_acc == whole.students[k].test_acc);
    const auto pa = a[k].named_parameters(), pc = c[k].named_parameters();
    for (size_t i = 0; i < pa.size(); ++i) {
      CHECK(pa[i].second->value.to_vector<float>() == pc[i].second->value.to_vector<float>());
    }
  }
  CHECK(resumed.ensemble_test_acc == whole.ensemble_test_acc);
  std::remove(path.c_str());
}

TEST_CASE("inductive cohort: one student trains exactly as alone; dml and gml are refused") {
  const Context ctx = Context::cpu();
  const io::PpiDataset data = tiny_ppi();
  const models::InductiveTrainOptions o{.epochs = 4, .lr = 0.01, .seed = 2};
  models::Model alone(ppi_student(false), 5);
  const models::InductiveTrainResult a = models::train_inductive(ctx, alone, data, o);
  models::Model member(ppi_student(false), 5);
  for (distill::Schedule schedule :
       {distill::Schedule::kSimultaneous, distill::Schedule::kAlternating}) {
    CAPTURE(static_cast<int>(schedule));
    models::Model student(ppi_student(false), 5);
    const distill::InductiveCohortResult c = distill::train_inductive_cohort(
        ctx, {&student}, data, o,
        {.method = distill::OnlineMethod::kAlignahead, .schedule = schedule});
    REQUIRE(c.students.size() == 1);
    REQUIRE(c.students[0].history.size() == a.history.size());
    for (size_t e = 0; e < a.history.size(); ++e) {
      CHECK(c.students[0].history[e].train_loss == a.history[e].train_loss);
      CHECK(c.students[0].history[e].val_f1 == a.history[e].val_f1);
      CHECK(c.students[0].history[e].test_f1 == a.history[e].test_f1);
    }
    CHECK(c.students[0].test_f1 == a.test_f1);
    CHECK(c.ensemble_test_f1 == doctest::Approx(a.test_f1));
  }
  for (distill::OnlineMethod m : {distill::OnlineMethod::kDml, distill::OnlineMethod::kGml}) {
    CHECK_THROWS_WITH_AS(distill::train_inductive_cohort(ctx, {&member}, data, o, {.method = m}),
                         doctest::Contains("compares softmax class distributions"), Error);
  }
}

TEST_CASE("inductive cohort: each student's first-step loss is its definition on the batch") {
  // One step per epoch over all training graphs: epoch 1's loss is the loss at the initial
  // weights on that batch, BCE + γ Σ aux BCE + λ/(K−1) Σ_p Σ_t (structure KL + β feature MSE).
  const Context ctx = Context::cpu();
  const io::PpiDataset data = tiny_ppi();
  const models::InductiveTrainOptions o{.epochs = 1, .graphs_per_step = 6, .seed = 3};
  const distill::OnlineOptions online{.method = distill::OnlineMethod::kAlignaheadPlus,
                                      .weight = 0.7,
                                      .shift = 1,
                                      .feature_weight = 0.3,
                                      .aux_weight = 0.4,
                                      .batch_students = distill::BatchStudents::kAlways};
  std::vector<models::Model> students;
  for (uint64_t k = 0; k < 3; ++k) students.emplace_back(ppi_student(true), 30 + k);
  const models::InductiveBatch b = models::make_inductive_batch(
      data.train, models::inductive_steps(6, 6, 3, 1)[0], ctx.device());
  std::vector<double> want(3);
  {
    Tape tape(ctx);
    std::vector<models::ModelOutput> outs;
    for (auto& s : students) outs.push_back(s.forward(tape, b.graph, b.x, {}));
    for (int m = 0; m < 3; ++m) {
      double loss = value(autograd::bce_with_logits(outs[m].logits, b.y));
      for (const Var& aux : outs[m].aux_logits) {
        loss += 0.4 * value(autograd::bce_with_logits(aux, b.y));
      }
      double distill = 0;
      for (int p = 0; p < 3; ++p) {
        if (p == m) continue;
        for (int64_t t = 0; t < 2; ++t) {
          const int64_t s = (t + 1) % 2;
          distill += value(autograd::structure_kl(b.graph, outs[m].hidden[t], outs[p].hidden[s]));
          distill += 0.3 * value(autograd::mse(outs[m].hidden[t], outs[p].hidden[s]));
        }
      }
      want[m] = loss + 0.7 * distill / 2.0;
    }
  }
  std::vector<models::Model*> pointers;
  for (auto& s : students) pointers.push_back(&s);
  const distill::InductiveCohortResult r =
      distill::train_inductive_cohort(ctx, pointers, data, o, online);
  CHECK(r.batched);
  for (int m = 0; m < 3; ++m) {
    CAPTURE(m);
    CHECK(r.students[m].history[0].train_loss == doctest::Approx(want[m]).epsilon(1e-5));
  }
}
