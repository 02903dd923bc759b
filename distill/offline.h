// Offline distillation on node classification: a frozen, pre-trained teacher and one student. The
// student minimises cross-entropy on the training nodes plus λ times one of
//   kd:     T² · KL(softmax(z_t / T) ‖ softmax(z_s / T)), mean over every node (Hinton et al.;
//           on a transductive graph the teacher's soft labels on unlabelled nodes carry the signal)
//   fitnet: MSE(h_s W, h_t) with a learned projection W [D_s, D_t] (Romero et al.'s hints)
//   lsp:    KL(P_t ‖ P_s) of the local structures (edge softmax of a kernel over each node's
//           in-edges), mean over all nodes (Yang et al., LSP; methods.md §1.3)
// where h are pre-activation hidden states of the selected layers. The term is active in an epoch
// window (LSP's official code: the first 30 of 500 epochs).
//
//   distill::TeacherOutputs t = distill::run_teacher(ctx, teacher, data);
//   distill::OfflineDistiller d({.method = distill::Method::kLsp}, t, student.config(), seed);
//   models::train_node_classifier(ctx, student, data, options, on_epoch, d.extra_loss(data.graph));
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "autograd/functions_graph.h"
#include "engine/context.h"
#include "engine/io/node_dataset.h"
#include "models/model.h"
#include "models/train_node.h"

namespace gkd::distill {

enum class Method { kKd, kFitnet, kLsp };
const char* method_name(Method method);
Method method_from_string(const std::string& name);  // "kd" | "fitnet" | "lsp"

// A frozen teacher's outputs on the whole graph in eval mode. They do not change during the
// student's training (full batch, no dropout), so they are computed once.
struct TeacherOutputs {
  Tensor logits;               // [N, C]
  std::vector<Tensor> hidden;  // per hidden layer, pre-activation [N, D_l]
};
TeacherOutputs run_teacher(const Context& ctx, const models::Model& teacher,
                           const io::NodeDataset& data);

struct OfflineOptions {
  Method method = Method::kKd;
  double weight = 1.0;       // λ
  double temperature = 2.0;  // kd: T > 0
  // fitnet / lsp: hidden layer indices; negative counts from the end (-1: the last hidden layer).
  int64_t student_layer = -1;
  int64_t teacher_layer = -1;
  autograd::StructureKernel kernel;  // lsp
  // The term is on for epochs [start_epoch, end_epoch] (1-based; end 0: to the last epoch).
  int64_t start_epoch = 1;
  int64_t end_epoch = 0;
};

class OfflineDistiller {
 public:
  // Validates the options against the teacher's outputs and the student's config (errors name
  // the option); a FitNet projection is Glorot-initialised from `seed`.
  OfflineDistiller(const OfflineOptions& options, TeacherOutputs teacher,
                   const models::ModelConfig& student, uint64_t seed);

  // The term for models::train_node_classifier on graph g (LSP's local structures are over g's
  // in-edges); the distiller must outlive the training call.
  models::ExtraLoss extra_loss(const Graph& g);

 private:
  autograd::Var term(autograd::Tape& tape, const Graph& g, const models::ModelOutput& out,
                     int64_t epoch) const;

  OfflineOptions o_;
  TeacherOutputs teacher_;
  int64_t student_layer_ = 0, teacher_layer_ = 0;    // resolved, non-negative
  std::unique_ptr<autograd::Parameter> projection_;  // fitnet: [D_s, D_t]
};

}  // namespace gkd::distill
