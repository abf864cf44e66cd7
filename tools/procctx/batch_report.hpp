// batch_report.hpp — the HTML report of a batch (`--report`, and `procctx
// batch merge --report`): one self-contained page, no network needed. It
// opens with the verdict, the summary and the batch's settings, then the
// failed and stopped jobs with the tail of their stderr, a timeline (a row
// per slot, a bar per attempt coloured by outcome, a legend and a time axis
// with ticks), and every job in input order with its CPU time and peak
// memory, and totals. Every field is escaped; nothing from a job log
// reaches the page raw.
#pragma once

#include "batch_log.hpp"

#include <string>
#include <vector>

namespace procctx::cli::batch {

std::string html_report(const Summary& s, std::vector<JobRecord> records);

// `raw` with & < > " ' as entities, ill-formed UTF-8 replaced by U+FFFD.
std::string html_escape(std::string_view raw);

}  // namespace procctx::cli::batch
