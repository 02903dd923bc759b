// Distillation on graph classification: the online cohort (distill/online_graph.h) and the
// offline terms (distill/offline.h) on batches of small graphs, each loss checked against its
// definition from the autograd functions.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "autograd/functions_dense.h"
#include "autograd/functions_graph.h"
#include "autograd/functions_loss.h"
#include "distill/offline.h"
#include "distill/online_graph.h"
#include "models/train_graph.h"
#include "tests/distill/distill_checks.h"

using namespace gkd;
using autograd::Tape;
using autograd::Var;
using test::value;

namespace {

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
  models::GraphSplit split;
  for (int64_t i = 0; i < 24; ++i) (i % 4 == 0 ? split.test : split.train).push_back(i);
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
  models::GraphSplit split;
  for (int64_t i = 0; i < 24; ++i) (i % 4 == 0 ? split.test : split.train).push_back(i);
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
  models::GraphSplit split;
  for (int64_t i = 0; i < 24; ++i) (i % 4 == 0 ? split.test : split.train).push_back(i);
  const models::GraphTrainOptions one_batch{.epochs = 1, .batch_size = 64, .iters_per_epoch = 0};
  const io::GraphBatch b =
      io::make_batch(data, models::epoch_batches(split.train, one_batch, 1).front());
  struct Case {
    distill::OnlineMethod method;
    int64_t shift;
    distill::FeatureDistance distance;
  };
  const Case cases[] = {
      {distill::OnlineMethod::kOc, 0, distill::FeatureDistance::kMse},
      {distill::OnlineMethod::kAlignahead, 1, distill::FeatureDistance::kMse},
      {distill::OnlineMethod::kAlignahead, -1, distill::FeatureDistance::kMse},
      {distill::OnlineMethod::kAlignaheadPlus, 1, distill::FeatureDistance::kCosine},
      {distill::OnlineMethod::kAlignaheadPlus, -1, distill::FeatureDistance::kNormalizedMse}};
  for (const Case& k : cases) {
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
        const int64_t layers = 3;
        REQUIRE(outs[0].hidden.size() == 3);
        REQUIRE(outs[0].aux_logits.size() == (plus ? 2 : 0));
        for (int m = 0; m < 3; ++m) {
          Var loss = autograd::cross_entropy(outs[m].logits, b.y);
          for (const Var& aux : outs[m].aux_logits) {
            loss = autograd::add(loss, autograd::scale(autograd::cross_entropy(aux, b.y), 0.4));
          }
          double distill = 0;
          for (int p = 0; p < 3; ++p) {
            if (p == m) continue;
            for (int64_t t = 0; t < layers; ++t) {
              const int64_t s = k.method == distill::OnlineMethod::kOc
                                    ? t
                                    : ((t + k.shift) % layers + layers) % layers;
              distill +=
                  value(autograd::structure_kl(b.graph, outs[m].hidden[t], peers[p].hidden[s]));
              if (plus) {
                distill +=
                    0.3 * test::feature_distance(outs[m].hidden[t], peers[p].hidden[s], k.distance);
              }
            }
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
