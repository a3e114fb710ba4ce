// The whole public API of pit.
#pragma once

#include "pit/config.hpp"
#include "pit/context.hpp"
#include "pit/contract.hpp"
#include "pit/fault.hpp"
#include "pit/host.hpp"
#include "pit/identity.hpp"
#include "pit/log.hpp"
#include "pit/pipeline.hpp"
#include "pit/spawn.hpp"
#include "pit/task.hpp"
