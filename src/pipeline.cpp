// pipeline.cpp — Pipeline: commands joined stdout-to-stdin, under one context.
#include <procctx/group.hpp>

#include "sys_linux.hpp"
#include "trace.hpp"

namespace procctx {

Result<PipelineOutcome> Pipeline::run(const Context& parent) const {
  if (stages_.empty()) return Error{make_error_code(errc::invalid_argument), "pipeline: no stages"};
  auto [ctx, cancel] = with_cancel(parent);
  detail::trace::Span span;
  if (detail::trace::on()) {
    std::vector<std::string> programs;
    for (const auto& st : stages_) programs.push_back(st.options().program);
    span = detail::trace::pipeline_begin(programs);
  }
  std::vector<Process> running;
  std::optional<Error> failure;
  detail::sys::UniqueFd upstream;  // read end feeding the next stage
  for (std::size_t i = 0; i < stages_.size() && !failure; ++i) {
    Command cmd = stages_[i];
    detail::sys::UniqueFd downstream_write, next_upstream;
    if (i + 1 < stages_.size()) {
      auto p = detail::sys::make_pipe();
      if (!p) {
        failure = std::move(p).error().wrap("pipeline stage " + std::to_string(i + 1));
        break;
      }
      downstream_write = std::move(p->write);
      next_upstream = std::move(p->read);
      cmd.out(Stdio::fd(downstream_write.get()));
    }
    if (upstream) cmd.in(Stdio::fd(upstream.get()));
    detail::trace::InScope in_pipeline{span};
    auto p = cmd.spawn(ctx);
    if (!p) {
      failure = std::move(p).error().wrap("pipeline stage " + std::to_string(i + 1));
      break;
    }
    running.push_back(std::move(*p));
    // Our copies of the pipe ends go now, so EOF and EPIPE travel between
    // the stages as they would in a shell.
    upstream = std::move(next_upstream);
  }
  upstream.reset();
  if (failure) cancel("a pipeline stage could not start");
  PipelineOutcome out;
  for (auto& p : running) out.stages.push_back(p.wait());
  if (failure) {
    if (span && detail::trace::on()) detail::trace::pipeline_end(span, failure->message());
    return std::move(*failure);
  }
  out.deciding_stage = out.stages.size() - 1;
  if (pipefail_) {
    for (std::size_t i = 0; i < out.stages.size(); ++i) {
      if (!out.stages[i].status.success()) {
        out.deciding_stage = i;
        break;
      }
    }
  }
  out.status = out.stages[out.deciding_stage].status;
  if (span && detail::trace::on()) detail::trace::pipeline_end(span, out.status.to_string());
  return out;
}

}  // namespace procctx
