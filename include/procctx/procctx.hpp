/// @file
/// @brief Everything: contexts, commands, processes.
///
/// Include this for the whole API, or the one header you need. It adds
/// nothing of its own and will not pull in anything beyond the C++ standard
/// library and the Linux headers those headers use.
#pragma once

#include <procctx/command.hpp>
#include <procctx/context.hpp>
#include <procctx/diagnostics.hpp>
#include <procctx/group.hpp>
#include <procctx/process.hpp>
#include <procctx/result.hpp>
#include <procctx/signals.hpp>
