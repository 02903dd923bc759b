#include "distill/offline.h"

#include "autograd/functions_dense.h"
#include "autograd/functions_loss.h"
#include "engine/error.h"
#include "models/init.h"

namespace gkd::distill {

namespace ag = autograd;

namespace {

constexpr struct {
  Method method;
  const char* name;
} kMethodNames[] = {{Method::kKd, "kd"}, {Method::kFitnet, "fitnet"}, {Method::kLsp, "lsp"}};

// A layer index of `count` hidden layers, negative from the end; errors name the option.
int64_t resolve_layer(int64_t index, int64_t count, const char* option) {
  const int64_t resolved = index < 0 ? count + index : index;
  GKD_CHECK(resolved >= 0 && resolved < count, "[distill] ", option, " is ", index,
            " but the model has ", count, " hidden layers (expected ", -count, " .. ", count - 1,
            ")");
  return resolved;
}

}  // namespace

const char* method_name(Method method) {
  for (const auto& m : kMethodNames) {
    if (m.method == method) return m.name;
  }
  return "?";
}

Method method_from_string(const std::string& name) {
  for (const auto& m : kMethodNames) {
    if (name == m.name) return m.method;
  }
  GKD_FAIL("distillation method '", name, "' is unknown (expected kd, fitnet or lsp)");
}

TeacherOutputs run_teacher(const Context& ctx, const models::Model& teacher,
                           const io::NodeDataset& data) {
  for (autograd::Parameter* p : teacher.parameters()) p->value = p->value.to(ctx.device());
  ag::Tape tape(ctx);
  ag::NoGrad no_grad(tape);
  const models::ModelOutput out = teacher.forward(tape, data.graph.to(ctx.device()),
                                                  data.x.to(ctx.device()), {.training = false});
  TeacherOutputs t{.logits = out.logits.value(), .hidden = {}};
  for (const ag::Var& h : out.hidden) t.hidden.push_back(h.value());
  return t;
}

OfflineDistiller::OfflineDistiller(const OfflineOptions& o, TeacherOutputs teacher,
                                   const models::ModelConfig& student, uint64_t seed)
    : o_(o), teacher_(std::move(teacher)) {
  GKD_CHECK(o.weight >= 0, "[distill] weight is ", o.weight, " (expected >= 0)");
  GKD_CHECK(o.temperature > 0, "[distill] temperature is ", o.temperature, " (expected > 0)");
  GKD_CHECK(o.start_epoch >= 1 && (o.end_epoch == 0 || o.end_epoch >= o.start_epoch),
            "[distill] epoch window [", o.start_epoch, ", ", o.end_epoch,
            "] (expected start >= 1 and end 0 or >= start)");
  GKD_CHECK(teacher_.logits.cols() == student.out_dim, "[distill] the teacher predicts ",
            teacher_.logits.cols(), " classes, the student ", student.out_dim);
  if (o.method == Method::kKd) return;
  const int64_t student_hidden = student.layers - 1;
  student_layer_ = resolve_layer(o.student_layer, student_hidden, "student_layer");
  teacher_layer_ =
      resolve_layer(o.teacher_layer, static_cast<int64_t>(teacher_.hidden.size()), "teacher_layer");
  if (o.method == Method::kFitnet) {
    const int64_t d_s = models::hidden_width(student);
    const int64_t d_t = teacher_.hidden[teacher_layer_].cols();
    projection_ = std::make_unique<autograd::Parameter>(
        models::glorot_uniform("fitnet_projection", d_s, d_t, seed, 1));
  }
}

models::ExtraLoss OfflineDistiller::extra_loss(const Graph& g) {
  models::ExtraLoss e;
  e.term = [this, g](ag::Tape& tape, const models::ModelOutput& out, int64_t epoch) {
    return term(tape, g, out, epoch);
  };
  if (projection_) e.parameters.push_back(projection_.get());
  return e;
}

ag::Var OfflineDistiller::term(ag::Tape& tape, const Graph& g, const models::ModelOutput& out,
                               int64_t epoch) const {
  if (epoch < o_.start_epoch || (o_.end_epoch > 0 && epoch > o_.end_epoch) || o_.weight == 0) {
    return {};
  }
  ag::Var loss;
  switch (o_.method) {
    case Method::kKd:
      loss = ag::kl_div(out.logits, tape.constant(teacher_.logits), o_.temperature);
      break;
    case Method::kFitnet: {
      const ag::Var h = out.hidden[student_layer_];
      GKD_CHECK(h.cols() == projection_->value.rows(), "[distill] student layer ", student_layer_,
                " is ", h.cols(), " wide (expected ", projection_->value.rows(), ")");
      loss = ag::mse(ag::matmul(h, tape.param(*projection_)),
                     tape.constant(teacher_.hidden[teacher_layer_]));
      break;
    }
    case Method::kLsp:
      loss = ag::structure_kl(g.to(tape.context().device()), out.hidden[student_layer_],
                              tape.constant(teacher_.hidden[teacher_layer_]), o_.kernel);
      break;
  }
  return o_.weight == 1.0 ? loss : ag::scale(loss, o_.weight);
}

}  // namespace gkd::distill
