#include "autograd/tape.h"
