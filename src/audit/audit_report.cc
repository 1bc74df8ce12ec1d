#include "src/audit/audit_report.h"

#include <cmath>

#include <fmt/format.h>

#include "src/core/atomic_file.h"
#include "src/core/format.h"
#include "reports/markdown_html.h"
#include "reports/svg.h"

namespace qh::audit {
namespace {

using reports::svg::xml_escape;

const char* const kProtections[4] = {"none", "tokens", "channels", "both"};


std::vector<int> present_sites(const AuditResult& r) {
  std::vector<int> out;
  for (int s = 0; s < kNumSites; ++s) {
    if (static_cast<Site>(s) == Site::kGate && r.mlp != "swiglu") continue;
    out.push_back(s);
  }
  return out;
}

std::string layer_label(int l) { return l < 0 ? "emb" : std::to_string(l); }

// How the dormant profile splits the queries, for the Markdown text.
std::string split_note(const AuditResult& r) {
  if (r.dormant_split == "bb_trigger") return "the BB task's trigger tokens";
  if (r.dormant_split == "token_class")
    return fmt::format("a token class of {} ids (--query-class)", r.options.query_class.size());
  return fmt::format("position (early = window positions 1..{})", r.options.early_positions);
}

}  // namespace

std::string render_audit_markdown(const AuditResult& r) {
  std::string md;
  md += "# qharness audit\n\n";
  md += fmt::format("Model: `{}` — {} layers, {} heads, d_model {}, attention `{}`, norm `{}`, MLP `{}`, "
                    "positions `{}`.  \n",
                    r.architecture, r.num_layers, r.num_heads, r.d_model, r.attention, r.norm, r.mlp, r.positions);
  md += fmt::format("Data: `{}` — {} windows of up to {} tokens, {} tokens.  \n", r.data_spec, r.windows, r.window,
                    r.tokens);
  md += fmt::format("Full precision: ppl {}", format_number(r.fp.ppl_fp));
  if (r.fp.has_oracle)
    md += fmt::format(", backcopy risk {}, bigram risk {}, backcopy acc {}", format_number(r.fp.backcopy_risk_fp),
                      format_number(r.fp.bigram_risk_fp), format_number(r.fp.backcopy_acc_fp));
  md += fmt::format(".  \nStatistics pass (fp forward with the observers): {:.3f} s; whole audit {:.3f} s.\n\n",
                    r.stats_seconds, r.total_seconds);

  md += "## Residual stream per layer\n\n| layer | residual_peak | sink norm | median norm | kurtosis | max_abs | "
        "top massive activation (seq, pos, channel, value, x median) |\n|---|---|---|---|---|---|---|\n";
  for (const LayerStats& l : r.layers) {
    std::string top = "-";
    if (!l.massive.empty()) {
      const MassiveEntry& m = l.massive[0];
      top = fmt::format("{}, {}, {}, {}, {}", m.sequence, m.position, m.channel, format_number(m.value), format_number(m.ratio));
    }
    md += fmt::format("| {} | {} | {} | {} | {} | {} | {} |\n", layer_label(l.layer), format_number(l.residual_peak),
                      format_number(l.sink_norm), format_number(l.median_norm), format_number(l.kurtosis), format_number(l.max_abs), top);
  }
  md += fmt::format("\n## Attention heads\n\nDormant queries (>= {} of the attention on key 0) split by {}.\n\n",
                    format_number(r.options.dormant_threshold), split_note(r));
  md += fmt::format("| layer | head | sink_mass | sink_key | dormant_frac | dormant {} / {} (queries) | value_drain |\n"
                    "|---|---|---|---|---|---|---|\n",
                    r.dormant_labels[0], r.dormant_labels[1]);
  for (const HeadStats& h : r.heads)
    md += fmt::format("| {} | {} | {} | {} ({}) | {} | {} / {} ({} / {}) | {} |\n", h.layer, h.head, format_number(h.sink_mass),
                      h.sink_key, format_number(h.sink_key_mass), format_number(h.dormant_frac), format_number(h.dormant_frac_domain[0]),
                      format_number(h.dormant_frac_domain[1]), h.domain_queries[0], h.domain_queries[1], format_number(h.value_drain));
  md += "\n## Linear inputs\n\n| layer | site | kurtosis | max_abs | outlier_channels (chan_max, persistence) |\n"
        "|---|---|---|---|---|\n";
  for (const SiteStats& s : r.sites) {
    std::string oc;
    for (size_t i = 0; i < s.outlier_channels.size() && i < 4; ++i)
      oc += fmt::format("{}{} ({}, {})", i ? "; " : "", s.outlier_channels[i], format_number(s.outlier_chan_max[i]),
                        format_number(s.outlier_persistence[i]));
    if (s.outlier_channels.size() > 4) oc += fmt::format("; +{} more", s.outlier_channels.size() - 4);
    md += fmt::format("| {} | {} | {} | {} | {} |\n", s.layer, to_string(s.site), format_number(s.kurtosis), format_number(s.max_abs),
                      oc.empty() ? "none" : oc);
  }
  for (const SchemeAudit& s : r.schemes) {
    md += fmt::format("\n## {}\n\n", s.scheme);
    const eval::EvalMetrics& m = s.metrics;
    md += fmt::format("ppl {} (fp {}), delta_ppl {}, kld_mean {} ± {}, kld_p99 {}, top1_agree {}", format_number(m.ppl),
                      format_number(m.ppl_fp), format_number(m.delta_ppl), format_number(m.kld_mean), format_number(m.kld_mean_se), format_number(m.kld_p99),
                      format_number(m.top1_agree));
    if (m.has_oracle)
      md += fmt::format(", backcopy_risk {}, bigram_risk {}, backcopy_acc {}", format_number(m.backcopy_risk),
                        format_number(m.bigram_risk), format_number(m.backcopy_acc));
    md += ".\n\n| site |";
    std::string sep = "|---|", row = "| SQNR [dB] |";
    for (int si : present_sites(r)) {
      md += fmt::format(" {} |", to_string(static_cast<Site>(si)));
      sep += "---|";
      row += fmt::format(" {} |", format_number(s.site_sqnr_total[si]));
    }
    md += "\n" + sep + "\n" + row + "\n";
    if (s.has_site_sensitivity) {
      row = "| kld_mean when only this site is quantized |";
      for (int si : present_sites(r)) row += fmt::format(" {} |", format_number(s.site_kld[si]));
      md += row + "\n";
    }
    if (s.has_attribution) {
      md += "\n| protection | kld_mean | delta_ppl |\n|---|---|---|\n";
      for (int p = 0; p < 4; ++p)
        md += fmt::format("| {} | {} | {} |\n", kProtections[p], format_number(s.protected_metrics[p].kld_mean),
                          format_number(s.protected_metrics[p].delta_ppl));
      md += "\n| attribution | phi_tokens | phi_channels | rest | total |\n|---|---|---|---|---|\n";
      auto line = [&](const char* name, const Shapley& a) {
        md += fmt::format("| {} | {} ({:.0f}%) | {} ({:.0f}%) | {} ({:.0f}%) | {} |\n", name, format_number(a.phi_tokens),
                          100 * a.share_tokens, format_number(a.phi_channels), 100 * a.share_channels, format_number(a.rest),
                          100 * a.share_rest, format_number(a.total));
      };
      line("kld_mean", s.kld);
      line("delta_ppl", s.delta_ppl);
      if (r.fp.has_oracle) line("excess risk", s.excess_risk);
    }
    if (!s.layer_kld.empty()) {
      md += "\n| layer quantized alone | kld_mean | delta_ppl |\n|---|---|---|\n";
      for (size_t l = 0; l < s.layer_kld.size(); ++l)
        md += fmt::format("| {} | {} | {} |\n", l, format_number(s.layer_kld[l]), format_number(s.layer_delta_ppl[l]));
    }
  }
  return md;
}

std::string render_audit_html(const AuditResult& r) {
  namespace svg = reports::svg;
  std::string body;
  // Residual norm of the sink token vs the median token.
  std::vector<double> x;
  svg::Series sink{"sink token (position 0)", {}}, med{"median token", {}};
  for (const LayerStats& l : r.layers) {
    x.push_back(l.layer);
    sink.values.push_back(l.sink_norm);
    med.values.push_back(l.median_norm);
  }
  svg::ChartOptions o;
  o.title = "Residual norm per layer: sink token vs median token";
  o.x_label = "layer (-1 = embeddings)";
  o.y_label = "residual L2 norm";
  o.unit = "";
  body += "<h2>Residual stream</h2>\n" + svg::line_chart(x, {sink, med}, o);
  // Head x layer sink_mass heatmap.
  std::vector<std::vector<double>> grid(r.num_layers);
  std::vector<std::string> rows, cols;
  for (const HeadStats& h : r.heads) grid[h.layer].push_back(h.sink_mass);
  for (int l = 0; l < r.num_layers; ++l) rows.push_back("layer " + std::to_string(l));
  for (int h = 0; h < r.num_heads; ++h) cols.push_back("head " + std::to_string(h));
  o = {};
  o.title = "sink_mass: mean attention on position 0 (queries i >= 1)";
  o.x_label = "head";
  o.y_label = "layer";
  o.unit = "probability";
  o.range_min = 0.0;
  o.range_max = 1.0;
  body += "<h2>Attention sinks</h2>\n" + svg::heatmap(grid, rows, cols, o);
  if (!r.schemes.empty()) {
    std::vector<std::string> site_names;
    for (int si : present_sites(r)) site_names.push_back(to_string(static_cast<Site>(si)));
    std::vector<svg::Series> sqnr, attrib, sens;
    for (const SchemeAudit& s : r.schemes) {
      svg::Series q{s.scheme, {}}, se{s.scheme, {}};
      for (int si : present_sites(r)) {
        q.values.push_back(s.site_sqnr_total[si]);
        se.values.push_back(s.site_kld[si]);
      }
      sqnr.push_back(q);
      if (s.has_site_sensitivity) sens.push_back(se);
      if (s.has_attribution) attrib.push_back({s.scheme, {s.kld.phi_tokens, s.kld.phi_channels, s.kld.rest}});
    }
    o = {};
    o.title = "Activation SQNR per site (all layers)";
    o.x_label = "site";
    o.y_label = "SQNR";
    o.unit = "dB";
    body += "<h2>Quantization error</h2>\n" + svg::grouped_bar_chart(site_names, sqnr, o);
    if (!attrib.empty()) {
      o = {};
      o.title = "Attribution of kld_mean: sink tokens, outlier channels, rest (Shapley)";
      o.x_label = "part";
      o.y_label = "KL divergence";
      o.unit = "nats";
      body += "<h2>Attribution</h2>\n" +
              svg::grouped_bar_chart({"phi_tokens", "phi_channels", "rest"}, attrib, o);
    }
    if (!sens.empty()) {
      o = {};
      o.title = "Per-site sensitivity: kld_mean when only that site is quantized";
      o.x_label = "site";
      o.y_label = "KL divergence";
      o.unit = "nats";
      body += "<h2>Sensitivity</h2>\n" + svg::grouped_bar_chart(site_names, sens, o);
    }
    std::vector<svg::Series> layer_sens;
    std::vector<double> lx;
    for (int l = 0; l < r.num_layers; ++l) lx.push_back(l);
    for (const SchemeAudit& s : r.schemes)
      if (!s.layer_kld.empty()) layer_sens.push_back({s.scheme, s.layer_kld});
    if (!layer_sens.empty()) {
      o = {};
      o.title = "Per-layer sensitivity: kld_mean when only that layer is quantized";
      o.x_label = "layer";
      o.y_label = "KL divergence";
      o.unit = "nats";
      body += svg::line_chart(lx, layer_sens, o);
    }
  }
  std::string html = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/><title>qharness audit</title>\n"
                     "<style>body{font-family:sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}"
                     "svg{display:block;margin:1em 0}"
                     "table{border-collapse:collapse;margin:0.5em 0 1em 0;font-size:0.9em;display:block;overflow-x:auto}"
                     "th,td{border:1px solid #ccc;padding:3px 8px}th{background:#f0f0f0}"
                     "td.num{text-align:right;font-variant-numeric:tabular-nums}code{font-size:0.95em}"
                     "</style></head><body>\n<h1>qharness audit</h1>\n";
  html += fmt::format("<p>Model <b>{}</b>: {} layers, {} heads, attention {}, norm {}, MLP {}. Data <code>{}</code>: "
                      "{} windows, {} tokens. fp ppl {}.</p>\n",
                      xml_escape(r.architecture), r.num_layers, r.num_heads, xml_escape(r.attention),
                      xml_escape(r.norm), xml_escape(r.mlp), xml_escape(r.data_spec), r.windows, r.tokens,
                      format_number(r.fp.ppl_fp));
  html += body;
  // The tables of audit.md as HTML tables (its sections from the first "##" on; the summary is above).
  const std::string md = render_audit_markdown(r);
  const size_t tables = md.find("\n## ");
  html += "<h2>Tables</h2>\n" + reports::markdown_to_html(tables == std::string::npos ? md : md.substr(tables + 1), 1);
  html += "</body></html>\n";
  return html;
}

std::vector<std::string> write_audit_dir(const std::string& dir, const AuditResult& r) {
  make_dirs(dir);
  const std::vector<std::pair<std::string, std::string>> files = {
      {dir + "/audit.json", r.to_json().dump(2) + "\n"},
      {dir + "/audit.md", render_audit_markdown(r)},
      {dir + "/audit.html", render_audit_html(r)}};
  std::vector<std::string> out;
  for (const auto& [path, text] : files) {
    write_file_atomic(path, text);
    out.push_back(path);
  }
  return out;
}

}  // namespace qh::audit
