// procctx/procctx.hpp — everything: contexts, commands, processes.
#pragma once

#include <procctx/command.hpp>
#include <procctx/context.hpp>
#include <procctx/group.hpp>
#include <procctx/process.hpp>
#include <procctx/result.hpp>
#include <procctx/diagnostics.hpp>
