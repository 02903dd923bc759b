// Distillation on graph classification: the online cohort (distill/online_graph.h) and the
// offline terms (distill/offline.h) on batches of small graphs, each loss checked against its
// definition from the autograd functions.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "autograd/functions_dense.h"
#include "autograd/functions_graph.h"
#include "autograd/functions_loss.h"
#include "distill/mskd.h"
#include "distill/offline.h"
#include "distill/online_graph.h"
#include "models/train_graph.h"
#include "tests/distill/distill_checks.h"

using namespace gkd;
using autograd::Tape;
using autograd::Var;
using test::value;

namespace {

// Graphs 0, 4, 8, ... for testing, the others for training.
models::GraphSplit every_fourth_tested(int64_t count) {
  models::GraphSplit split;
  for (int64_t i = 0; i < count; ++i) (i % 4 == 0 ? split.test : split.train).push_back(i);
  return split;
}

// Cycles (label 0) and stars (label 1) of 4-8 nodes with one feature column of ones.
io::GraphDataset shapes(int64_t count) {
  io::GraphDataset d{.name = "shapes", .samples = {}, .num_classes = 2, .num_node_features = 1};
  for (int64_t i = 0; i < count; ++i) {
    const auto n = static_cast<int32_t>(4 + i % 5);
    const bool star = i % 2 == 1;
    std::vector<int32_t> src, dst;
    for (int32_t v = star ? 1 : 0; v < n; ++v) {
      const int32_t u = star ? 0 : (v + 1) % n;
      src.push_back(v), dst.push_back(u), src.push_back(u), dst.push_back(v);
    }
    d.samples.push_back({.graph = Graph::from_edges(n, src, dst),
                         .x = Tensor::full(n, 1, 1.0, DType::kF32),
                         .edge_attr = {},
                         .label = star ? 1 : 0});
  }
  return d;
}

}  // namespace

TEST_CASE("graph cohort: one student trains as alone; GML's first batch loss by definition") {
  const Context ctx = Context::cpu();
  const io::GraphDataset data = shapes(24);
  const models::GraphSplit split = every_fourth_tested(24);
  const models::GraphModelConfig config{
      .in_dim = 1, .out_dim = 2, .hidden = 6, .layers = 2, .dropout = 0};
  const models::GraphTrainOptions budget{.epochs = 4, .batch_size = 6, .iters_per_epoch = 0};
  models::GraphModel alone(config, 3), member(config, 3);
  const models::GraphTrainResult a =
      models::train_graph_classifier(ctx, alone, data, split, budget);
  const std::vector<models::GraphModel*> one{&member};
  const distill::GraphCohortResult c = distill::train_graph_cohort(
      ctx, one, data, split, budget, {.method = distill::OnlineMethod::kDml});
  for (size_t e = 0; e < a.history.size(); ++e) {
    CAPTURE(e);
    CHECK(c.students[0].history[e].train_loss == doctest::Approx(a.history[e].train_loss));
    CHECK(c.students[0].history[e].test == a.history[e].test);
  }

  // Three students, one batch holding every training graph: epoch 1's loss is the definition.
  std::vector<models::GraphModel> students;
  for (uint64_t s = 0; s < 3; ++s) students.emplace_back(config, 10 + s);
  const models::GraphTrainOptions one_batch{.epochs = 1, .batch_size = 64, .iters_per_epoch = 0};
  const io::GraphBatch b =
      io::make_batch(data, models::epoch_batches(split.train, one_batch, 1).front());
  std::vector<double> want(3);
  {
    Tape tape(ctx);
    std::vector<Var> z;
    for (auto& s : students) z.push_back(s.forward(tape, b, {.training = true}).logits);
    for (int m = 0; m < 3; ++m) {
      double kl = 0;
      for (int p = 0; p < 3; ++p) {
        if (p != m) kl += value(autograd::kl_div(z[m], z[p], 2.0));
      }
      want[m] = value(autograd::cross_entropy(z[m], b.y)) -
                0.2 * value(autograd::entropy(z[m], 2.0)) + 0.5 * kl / 2.0;
    }
  }
  for (auto& s : students) {  // the forward above updated the batch-norm statistics: reset
    for (auto& [name, buf] : s.named_buffers()) {
      buf->value.fill(name.find("running_var") != std::string::npos ? 1.0 : 0.0);
    }
  }
  std::vector<models::GraphModel*> pointers;
  for (auto& s : students) pointers.push_back(&s);
  const distill::GraphCohortResult r =
      distill::train_graph_cohort(ctx, pointers, data, split, one_batch,
                                  {.method = distill::OnlineMethod::kGml,
                                   .weight = 0.5,
                                   .temperature = 2.0,
                                   .entropy_weight = 0.2,
                                   .alw_rank = 3,
                                   .batch_students = distill::BatchStudents::kAlways});
  for (int m = 0; m < 3; ++m) {
    CAPTURE(m);
    CHECK(r.students[m].history[0].train_loss == doctest::Approx(want[m]).epsilon(1e-5));
  }
  CHECK(r.batched);
  CHECK(r.ensemble_test >= 0);

  // Batched and one by one: the same training (dropout, batch norm and ALW included).
  const models::GraphModelConfig dropped{
      .in_dim = 1, .out_dim = 2, .hidden = 6, .layers = 2, .dropout = 0.3};
  std::vector<std::vector<models::GraphModel>> twins(2);
  std::vector<distill::GraphCohortResult> runs;
  for (int batched = 0; batched < 2; ++batched) {
    std::vector<models::GraphModel*> cohort;
    for (uint64_t s = 0; s < 3; ++s) twins[batched].emplace_back(dropped, 20 + s);
    for (auto& s : twins[batched]) cohort.push_back(&s);
    runs.push_back(distill::train_graph_cohort(
        ctx, cohort, data, split, budget,
        {.method = distill::OnlineMethod::kGml,
         .alw_rank = 2,
         .batch_students =
             batched == 1 ? distill::BatchStudents::kAlways : distill::BatchStudents::kNever}));
  }
  CHECK(runs[1].batched);
  CHECK_FALSE(runs[0].batched);
  for (int m = 0; m < 3; ++m) {
    CAPTURE(m);
    for (size_t e = 0; e < runs[0].students[m].history.size(); ++e) {
      CHECK(runs[1].students[m].history[e].train_loss ==
            doctest::Approx(runs[0].students[m].history[e].train_loss).epsilon(1e-5));
    }
  }
  models::GraphModelConfig gcn = config;
  gcn.arch = models::Arch::kGcn;
  models::GraphModel other(gcn, 30);
  const std::vector<models::GraphModel*> mixed{pointers[0], &other};
  CHECK_THROWS_WITH_AS(
      distill::train_graph_cohort(ctx, mixed, data, split, one_batch,
                                  {.method = distill::OnlineMethod::kOc}),
      doctest::Contains("oc pairs hidden layers: the students must share one architecture"), Error);
}

TEST_CASE("graph offline: each method's term on a batch by definition, and in the trainer") {
  const Context ctx = Context::cpu();
  const io::GraphDataset data = shapes(24);
  const models::GraphSplit split = every_fourth_tested(24);
  const models::GraphModelConfig teacher_config{
      .in_dim = 1, .out_dim = 2, .hidden = 8, .layers = 3, .dropout = 0};
  const models::GraphModelConfig student_config{
      .in_dim = 1, .out_dim = 2, .hidden = 6, .layers = 2, .dropout = 0};
  const models::GraphModel teacher(teacher_config, 4);
  const models::GraphTrainOptions one_batch{.epochs = 1, .batch_size = 64, .iters_per_epoch = 0};
  const io::GraphBatch b =
      io::make_batch(data, models::epoch_batches(split.train, one_batch, 1).front());
  const distill::TeacherOutputs t = distill::run_teacher(ctx, teacher, b);
  REQUIRE(t.hidden.size() == 3);
  for (const distill::Method method :
       {distill::Method::kKd, distill::Method::kFitnet, distill::Method::kLsp}) {
    CAPTURE(distill::method_name(method));
    distill::OfflineDistiller d({.method = method,
                                 .weight = 0.7,
                                 .temperature = 3.0,
                                 .student_layer = 0,
                                 .teacher_layer = -2,
                                 .end_epoch = 2},
                                teacher_config, student_config, 9);
    const models::GraphExtraLoss extra = d.graph_extra_loss(teacher);
    models::GraphModel student(student_config, 5), twin(student_config, 5);
    double want = 0;
    {
      Tape tape(ctx);
      const models::GraphModelOutput out = student.forward(tape, b, {.training = true});
      double term = 0;
      if (method == distill::Method::kKd) {
        term = value(autograd::kl_div(out.logits, tape.constant(t.logits), 3.0));
      } else if (method == distill::Method::kLsp) {
        term = value(autograd::structure_kl(b.graph, out.hidden[0], tape.constant(t.hidden[1])));
      } else {
        REQUIRE(extra.parameters.size() == 1);
        const Var projected = autograd::matmul(out.hidden[0], tape.param(*extra.parameters[0]));
        term = value(autograd::mse(projected, tape.constant(t.hidden[1])));
      }
      CHECK(value(extra.term(tape, b, out, 2)) == doctest::Approx(0.7 * term).epsilon(1e-6));
      CHECK_FALSE(extra.term(tape, b, out, 3).defined());
      want = value(autograd::cross_entropy(out.logits, b.y)) + 0.7 * term;
    }
    // The trainer adds the term to the batch's cross-entropy (a twin: the forward above moved
    // the student's batch-norm statistics).
    const models::GraphTrainResult r =
        models::train_graph_classifier(ctx, twin, data, split, one_batch, {}, extra);
    CHECK(r.history.front().train_loss == doctest::Approx(want).epsilon(1e-6));
  }
}

namespace {

void reset_running_statistics(models::GraphModel& m) {
  for (auto& [name, buf] : m.named_buffers()) {
    buf->value.fill(name.find("running_var") != std::string::npos ? 1.0 : 0.0);
  }
}

}  // namespace

TEST_CASE("graph cohort: each structure method's first batch loss by definition, both schedules") {
  const Context ctx = Context::cpu();
  const io::GraphDataset data = shapes(24);
  const models::GraphSplit split = every_fourth_tested(24);
  const models::GraphTrainOptions one_batch{.epochs = 1, .batch_size = 64, .iters_per_epoch = 0};
  const io::GraphBatch b =
      io::make_batch(data, models::epoch_batches(split.train, one_batch, 1).front());
  const test::OnlineCase cases[] = {
      {distill::OnlineMethod::kOc, 0, distill::FeatureDistance::kMse},
      {distill::OnlineMethod::kAlignahead, 1, distill::FeatureDistance::kMse},
      {distill::OnlineMethod::kAlignahead, -1, distill::FeatureDistance::kMse},
      {distill::OnlineMethod::kAlignaheadPlus, 1, distill::FeatureDistance::kCosine},
      {distill::OnlineMethod::kAlignaheadPlus, -1, distill::FeatureDistance::kNormalizedMse}};
  for (const test::OnlineCase& k : cases) {
    for (distill::Schedule schedule :
         {distill::Schedule::kSimultaneous, distill::Schedule::kAlternating}) {
      CAPTURE(distill::online_method_name(k.method));
      CAPTURE(k.shift);
      CAPTURE(static_cast<int>(schedule));
      const bool plus = k.method == distill::OnlineMethod::kAlignaheadPlus;
      const bool simultaneous = schedule == distill::Schedule::kSimultaneous;
      const models::GraphModelConfig config{
          .in_dim = 1, .out_dim = 2, .hidden = 6, .layers = 3, .dropout = 0, .aux_heads = plus};
      std::vector<models::GraphModel> students;
      for (uint64_t s = 0; s < 3; ++s) students.emplace_back(config, 10 + s);
      // Expected losses at the initial weights, from the definitions. Alternating: the peers are
      // references in eval mode (batch norm from the running statistics).
      std::vector<double> want(3);
      {
        Tape tape(ctx);
        std::vector<models::GraphModelOutput> peers, outs;
        for (auto& s : students) peers.push_back(s.forward(tape, b, {.training = simultaneous}));
        for (auto& s : students) reset_running_statistics(s);
        for (auto& s : students) outs.push_back(s.forward(tape, b, {.training = true}));
        REQUIRE(outs[0].hidden.size() == 3);
        REQUIRE(outs[0].aux_logits.size() == (plus ? 2 : 0));
        for (int m = 0; m < 3; ++m) {
          Var loss = autograd::cross_entropy(outs[m].logits, b.y);
          for (const Var& aux : outs[m].aux_logits) {
            loss = autograd::add(loss, autograd::scale(autograd::cross_entropy(aux, b.y), 0.4));
          }
          double distill = 0;
          for (int p = 0; p < 3; ++p) {
            if (p != m)
              distill += test::aligned_terms(b.graph, outs[m].hidden, peers[p].hidden, k, 0.3);
          }
          want[m] = value(loss) + 0.7 * distill / 2.0;
        }
      }
      for (auto& s : students) reset_running_statistics(s);
      std::vector<models::GraphModel*> pointers;
      for (auto& s : students) pointers.push_back(&s);
      const distill::GraphCohortResult r =
          distill::train_graph_cohort(ctx, pointers, data, split, one_batch,
                                      {.method = k.method,
                                       .weight = 0.7,
                                       .shift = k.shift,
                                       .schedule = schedule,
                                       .feature_weight = 0.3,
                                       .feature_distance = k.distance,
                                       .aux_weight = 0.4,
                                       .batch_students = distill::BatchStudents::kAlways});
      CHECK(r.batched == simultaneous);
      // Alternating: student m steps after students < m did, so only student 0 sees the initial
      // peers; simultaneous: everyone does.
      for (int m = 0; m < (simultaneous ? 3 : 1); ++m) {
        CAPTURE(m);
        CHECK(r.students[m].history[0].train_loss == doctest::Approx(want[m]).epsilon(1e-5));
      }
    }
  }
}

TEST_CASE("graph mskd: the code's staged term and graph-confidence attention on a batch") {
  const Context ctx = Context::cpu();
  const io::GraphDataset data = shapes(24);
  std::vector<int64_t> ids;
  for (int64_t i = 0; i < 18; ++i) ids.push_back(i);
  const io::GraphBatch b = io::make_batch(data, ids);
  std::vector<models::GraphModel> teachers;
  for (int64_t layers : {1, 2, 3}) {
    teachers.emplace_back(
        models::GraphModelConfig{
            .in_dim = 1, .out_dim = 2, .hidden = 8, .layers = layers, .dropout = 0},
        40 + layers);
  }
  std::vector<distill::TeacherOutputs> outputs;
  std::vector<const models::GraphModel*> frozen;
  for (const auto& t : teachers) {
    outputs.push_back(distill::run_teacher(ctx, t, b));
    frozen.push_back(&t);
  }
  const models::GraphModel student(
      {.in_dim = 1, .out_dim = 2, .hidden = 6, .layers = 3, .dropout = 0}, 7);
  Tape tape(ctx);
  const models::GraphModelOutput out = student.forward(tape, b, {});

  // Code weighting: stage k (epochs 5k+1 .. 5k+5) uses teacher k for its first 2 epochs, against
  // the teacher's last layer run on the batch.
  distill::MskdDistiller code({.lambda = 7.0, .stage_epochs = 5, .warmup = 2, .student_layer = 1},
                              outputs, out.logits.value(), 3, 15);
  const models::GraphExtraLoss extra = code.graph_extra_loss(frozen);
  for (int64_t epoch : {1, 2, 6, 7, 11, 12}) {
    CAPTURE(epoch);
    const int k = static_cast<int>((epoch - 1) / 5);
    const double want = code.teacher_weights()[k] *
                        value(autograd::structure_kl(b.graph, out.hidden[1],
                                                     tape.constant(outputs[k].hidden.back())));
    CHECK(value(extra.term(tape, b, out, epoch)) == doctest::Approx(want).epsilon(1e-6));
  }
  for (int64_t epoch : {3, 5, 8, 15}) CHECK_FALSE(extra.term(tape, b, out, epoch).defined());

  // Node attention: every node of graph g weights teacher k by softmax_k(−H(p_k(g)) / τ).
  const Tensor attention = distill::graph_node_attention(outputs, b.graph, 0.5);
  const Eigen::MatrixXd a = test::to_eigen(attention);
  REQUIRE(a.rows() == 3);
  REQUIRE(a.cols() == b.graph.num_nodes());
  const std::vector<int64_t>& offsets = b.graph.node_offsets();
  for (size_t g = 0; g + 1 < offsets.size(); ++g) {
    Eigen::Vector3d score;
    for (int k = 0; k < 3; ++k) {
      const Eigen::RowVectorXd z = test::to_eigen(outputs[k].logits).row(static_cast<int64_t>(g));
      const Eigen::ArrayXd p =
          (z.array() - z.maxCoeff()).exp() / (z.array() - z.maxCoeff()).exp().sum();
      score(k) = (p * p.log()).sum() / 0.5;  // −H / τ
    }
    const Eigen::Vector3d e = (score.array() - score.maxCoeff()).exp().matrix();
    for (int64_t v = offsets[g]; v < offsets[g + 1]; ++v) {
      for (int k = 0; k < 3; ++k) CHECK(a(k, v) == doctest::Approx(e(k) / e.sum()));
    }
  }
  distill::MskdDistiller attend({.weighting = distill::MskdWeighting::kNodeAttention,
                                 .lambda = 0.5,
                                 .warmup = 0,
                                 .attention_temperature = 0.5,
                                 .student_layer = -1},
                                outputs, out.logits.value(), 3, 15);
  std::vector<std::pair<Var, Var>> pairs;
  for (const auto& t : outputs) pairs.emplace_back(out.hidden[2], tape.constant(t.hidden.back()));
  const double want =
      0.5 * value(autograd::sum(autograd::structure_kl(b.graph, pairs, {}, attention)));
  CHECK(value(attend.graph_extra_loss(frozen).term(tape, b, out, 9)) ==
        doctest::Approx(want).epsilon(1e-6));
}
