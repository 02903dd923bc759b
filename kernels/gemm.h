#pragma once

#include "kernels/common.h"

namespace gkd::kernels {}  // namespace gkd::kernels
