// The audit's human-readable files: audit.md (tables fit for a PR comment) and a self-contained audit.html with
// inline SVG charts (reports/svg.h): residual norm per layer for the sink token vs the median token, a head x
// layer heatmap of sink_mass, per-site SQNR per scheme, attribution bars, per-site / per-layer sensitivity.
#pragma once

#include <string>
#include <vector>

#include "src/audit/audit.h"

namespace qh::audit {

std::string render_audit_markdown(const AuditResult& r);
std::string render_audit_html(const AuditResult& r);
// Writes audit.json, audit.md and audit.html into dir (created if needed), atomically. Returns the paths.
std::vector<std::string> write_audit_dir(const std::string& dir, const AuditResult& r);

}  // namespace qh::audit
