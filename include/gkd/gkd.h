// gkd: graph neural networks and knowledge distillation between them, as a C++20 library.
//
//   #include <gkd/gkd.h>      // find_package(gkd) + target_link_libraries(app PRIVATE gkd::gkd)
//
// This umbrella header pulls in the public API and nothing of gkd's private dependencies (no CUDA,
// fmt or JSON headers; the CUDA backend sits behind forward declarations). The layers, top down:
//   distill/  offline (KD, FitNet, LSP), MSKD, and online cohorts (DML, OC, Alignahead(++), GML)
//   models/   GCN, GAT, GraphSAGE, GIN, MLP; node, graph and inductive trainers; checkpoints
//   autograd/ a tape of differentiable ops, losses and optimizers
//   engine/   Context (CPU or CUDA), Tensor, Graph, ops; engine/io: datasets, splits, checkpoints
// docs/api.md walks through examples/train_and_distill.cpp, which uses each layer once.
#pragma once

#include <gkd/version.h>  // GKD_VERSION_MAJOR / _MINOR / _PATCH and GKD_VERSION_STRING

#include "engine/context.h"
#include "engine/error.h"
#include "engine/graph.h"
#include "engine/sparse_matrix.h"
#include "engine/tensor.h"

#include "engine/io/checkpoint.h"
#include "engine/io/graph_dataset.h"
#include "engine/io/node_dataset.h"
#include "engine/io/npy.h"
#include "engine/io/ogb.h"
#include "engine/io/ppi.h"
#include "engine/io/splits.h"
#include "engine/io/synthetic.h"
#include "engine/io/tu.h"

#include "autograd/functions_dense.h"
#include "autograd/functions_graph.h"
#include "autograd/functions_loss.h"
#include "autograd/optim.h"
#include "autograd/tape.h"

#include "models/checkpoint.h"
#include "models/graph_model.h"
#include "models/metrics.h"
#include "models/model.h"
#include "models/train_graph.h"
#include "models/train_inductive.h"
#include "models/train_node.h"
#include "models/train_state.h"

#include "distill/mskd.h"
#include "distill/offline.h"
#include "distill/online.h"
#include "distill/online_graph.h"
