#include "engine/ops_dense.h"
