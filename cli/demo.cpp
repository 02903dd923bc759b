// gkd demo: the engine end to end on the built-in synthetic graph. A 2-layer GCN
// (Kipf & Welling: relu(Â X W1 + b1) -> dropout -> Â H W2 + b2, Â = D^-1/2 (A + I) D^-1/2) and an
// MLP of the same widths that ignores the edges are trained with Adam on a contextual SBM; the
// demo prints their learning curves and test accuracies (selected at the best validation epoch).
#include <fmt/core.h>

#include <cstdlib>
#include <string>

#include "cli/commands.h"
#include "engine/io/synthetic.h"
#include "models/model.h"
#include "models/train_node.h"

namespace gkd::cli {
namespace {

constexpr const char* kDemoUsage = "usage: gkd demo [--epochs N] [--seed S]\n";

struct DemoOptions {
  int64_t epochs = 100;
  uint64_t seed = 1;
  bool help = false;
};

DemoOptions parse(int argc, char** argv) {
  DemoOptions o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      o.help = true;
      return o;
    }
    if (i + 1 >= argc) throw UsageError("option " + arg + " needs a value");
    char* end = nullptr;
    const long long v = std::strtoll(argv[i + 1], &end, 10);
    if (!end || *end != '\0' || v <= 0) {
      throw UsageError("option " + arg + " expects a positive integer (got '" + argv[i + 1] + "')");
    }
    if (arg == "--epochs") {
      o.epochs = v;
    } else if (arg == "--seed") {
      o.seed = static_cast<uint64_t>(v);
    } else {
      throw UsageError("unknown option " + arg);
    }
    ++i;
  }
  return o;
}

// Trains a 2-layer model of the given architecture (GCN, or the MLP that ignores the edges) with
// Kipf & Welling's settings, printing a few lines of its learning curve.
models::NodeTrainResult train(const io::NodeDataset& data, models::Arch arch,
                              const DemoOptions& o) {
  const models::ModelConfig config{
      .arch = arch, .in_dim = data.x.cols(), .out_dim = data.num_classes, .hidden = 16};
  models::Model model(config, o.seed);
  const char* name = models::arch_name(arch);
  fmt::print("  {}: {}\n", name, model.describe());
  const auto progress = [&](const models::EpochMetrics& m) {
    if (m.epoch == 1 || m.epoch % 20 == 0 || m.epoch == o.epochs) {
      fmt::print("  {:>4} epoch {:>4}  loss {:.4f}  train {:5.1f}%  val {:5.1f}%\n", name, m.epoch,
                 m.train_loss, m.train_acc, m.val_acc);
    }
  };
  const models::NodeTrainOptions options{
      .epochs = o.epochs, .lr = 0.01, .weight_decay = 5e-4, .seed = o.seed};
  return models::train_node_classifier(Context::cpu(), model, data, options, progress);
}

}  // namespace

int run_demo(int argc, char** argv) {
  const DemoOptions o = parse(argc, argv);
  if (o.help) {
    fmt::print("{}", kDemoUsage);
    return 0;
  }
  io::CsbmOptions synth;
  synth.seed = o.seed;
  const io::NodeDataset data = io::make_csbm(synth);
  fmt::print(
      "gkd demo: synthetic contextual SBM (built in, not a real dataset): {} nodes, {} directed "
      "edges, {} features, {} classes, homophily {:.1f}; device cpu\n",
      data.graph.num_nodes(), data.graph.num_edges(), data.x.cols(), data.num_classes,
      synth.homophily);
  const models::NodeTrainResult gcn = train(data, models::Arch::kGcn, o);
  const models::NodeTrainResult mlp = train(data, models::Arch::kMlp, o);
  fmt::print(
      "test accuracy at the best validation epoch: GCN {:.1f}%, MLP {:.1f}% "
      "(median epoch {:.2f} ms vs {:.2f} ms)\n",
      gcn.test_acc, mlp.test_acc, gcn.median_step_ms, mlp.median_step_ms);
  return 0;
}

}  // namespace gkd::cli
