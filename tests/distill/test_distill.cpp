// Offline distillation (distill/offline.h): each term equals its definition from the autograd
// functions, the epoch window switches it on and off, bad layer choices are refused, and KD from
// a GCN teacher lifts an MLP student far above the same MLP trained alone (the teacher's soft
// labels on unlabelled nodes carry the graph's information).
#include <doctest/doctest.h>

#include "autograd/functions_dense.h"
#include "autograd/functions_loss.h"
#include "distill/offline.h"
#include "engine/io/synthetic.h"
#include "models/train_node.h"
#include "tests/support/checks.h"

using namespace gkd;
using autograd::Tape;
using autograd::Var;

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

double value(Var v) {
  return v.value().to(Device::kCPU).item<float>();
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
                                t, student.config(), 7);
    const models::ExtraLoss extra = d.extra_loss(data.graph);
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

TEST_CASE("distill: layer choices outside the models are refused with the option named") {
  const distill::TeacherOutputs t{.logits = Tensor::zeros(0, 3, DType::kF32),
                                  .hidden = {Tensor::zeros(0, 6, DType::kF32)}};
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
                              distill::run_teacher(ctx, teacher, data), mlp, 3);
  const double student_acc =
      models::train_node_classifier(ctx, student, data, budget, {}, d.extra_loss(data.graph))
          .test_acc;
  INFO("teacher " << teacher_acc << ", MLP alone " << alone_acc << ", MLP student " << student_acc);
  CHECK(teacher_acc > alone_acc + 10);
  CHECK(student_acc > alone_acc + 5);
}
