#include "tools/policy_views.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "base/json_writer.h"
#include "engine/translate.h"

namespace sevex::cli {
namespace {

std::string DecisionSummary(const v1::Decision& d, const std::string& indent) {
  std::string out;
  switch (d.kind_case()) {
    case v1::Decision::kRules:
      absl::StrAppend(&out, indent, "first-match rules:\n");
      for (const auto& r : d.rules().rule()) {
        absl::StrAppend(&out, indent, "  ", r.id(), " -> ", r.level(), ": ", r.when(), "\n");
      }
      absl::StrAppend(&out, indent, "  otherwise -> ", d.rules().otherwise(), "\n");
      break;
    case v1::Decision::kMatrix:
      absl::StrAppend(&out, indent, "matrix ", d.matrix().rows(), " (rows) x ", d.matrix().columns(), " (columns):\n");
      for (const auto& r : d.matrix().row()) {
        absl::StrAppend(&out, indent, "  ", absl::StrFormat("%-30s", r.value()), absl::StrJoin(r.cell(), " "), "\n");
      }
      break;
    case v1::Decision::kScore:
      absl::StrAppend(&out, indent, "weighted mean score:\n");
      for (const auto& c : d.score().component()) {
        absl::StrAppend(&out, indent, "  ", c.attribute(), " weight ", c.weight(), " scores [",
                        absl::StrJoin(c.score(), ", "), "]\n");
      }
      for (const auto& b : d.score().band()) absl::StrAppend(&out, indent, "  score >= ", b.min(), " -> ", b.level(), "\n");
      break;
    case v1::Decision::kMaximum:
      absl::StrAppend(&out, indent, "the most severe of the viewpoints:\n");
      for (const auto& v : d.maximum().viewpoint()) {
        absl::StrAppend(&out, indent, "  viewpoint ", v.name(), ":\n", DecisionSummary(v.decision(), indent + "    "));
      }
      break;
    default:
      break;
  }
  return out;
}

std::string XmlEscape(absl::string_view s) {
  return absl::StrReplaceAll(s, {{"&", "&amp;"}, {"<", "&lt;"}, {">", "&gt;"}, {"\"", "&quot;"}});
}

// White (0) → green → yellow → orange → red → near-black (100), for the anchor midpoint.
std::string HeatColour(double x) {
  struct Stop { double at; int r, g, b; };
  static constexpr Stop kStops[] = {{0, 255, 255, 255}, {20, 120, 200, 120}, {40, 250, 220, 80},
                                    {60, 245, 150, 50}, {80, 210, 40, 40},   {100, 50, 20, 30}};
  x = std::clamp(x, 0.0, 100.0);
  for (size_t i = 1; i < std::size(kStops); ++i) {
    if (x <= kStops[i].at) {
      const Stop& a = kStops[i - 1];
      const Stop& b = kStops[i];
      const double t = (x - a.at) / (b.at - a.at);
      return absl::StrFormat("#%02x%02x%02x", static_cast<int>(a.r + t * (b.r - a.r)),
                             static_cast<int>(a.g + t * (b.g - a.g)), static_cast<int>(a.b + t * (b.b - a.b)));
    }
  }
  return "#321e1e";
}

std::string Range(const MatrixCell& c) {
  if (c.most_severe == c.least_severe) return c.to->level(c.level).id();
  return absl::StrCat(c.to->level(c.level).id(), " (", c.to->level(c.most_severe).id(), "..",
                      c.to->level(c.least_severe).id(), ")");
}

}  // namespace

std::string PolicyShowText(const engine::CompiledPolicy& policy, const engine::SharedScale& scale) {
  const v1::SchemePolicy& p = policy.proto();
  std::string out = absl::StrCat(p.id(), " — ", p.name(), "\n");
  absl::StrAppend(&out, "  jurisdiction: ", p.jurisdiction(), "   version: ", p.version(), "\n");
  absl::StrAppend(&out, "  hash: ", policy.hash(), "\n  file: ", policy.file(), "\n\nlevels (most severe first):\n");
  for (const auto& l : p.level()) {
    const v1::SharedPlacement place = scale.Place(l);
    absl::StrAppend(&out, absl::StrFormat("  %-20s %-28s %-7s %3d..%-3d  %s", l.id(), l.name(), l.colour(), l.low(),
                                          l.high(), place.band() == place.band_high() ? place.band()
                                                                                      : absl::StrCat(place.band(), "..", place.band_high())),
                    "\n");
    if (!l.anchor_reason().empty()) absl::StrAppend(&out, "      anchor: ", l.anchor_reason(), "\n");
    for (const auto& c : l.clock()) {
      absl::StrAppend(&out, "      report: ", c.report(), " within ", c.within(), " of ",
                      c.relative_to().empty() ? "detection" : c.relative_to(),
                      c.when().empty() ? "" : absl::StrCat(" when ", c.when()), "\n");
    }
  }
  absl::StrAppend(&out, "\ndecision:\n", DecisionSummary(p.decision(), "  "));
  if (!p.define().empty()) {
    absl::StrAppend(&out, "\ndefinitions:\n");
    for (const auto& d : p.define()) absl::StrAppend(&out, "  ", d.name(), " = ", d.expr(), "\n");
  }
  absl::StrAppend(&out, "\nsources:\n");
  for (const auto& s : p.source()) {
    absl::StrAppend(&out, "  - ", s.title(), ", ", s.issuer(), ", ", s.date(), s.section().empty() ? "" : absl::StrCat(", ", s.section()), "\n");
    if (!s.note().empty()) absl::StrAppend(&out, "    ", s.note(), "\n");
  }
  if (!p.interpretation().empty()) {
    absl::StrAppend(&out, "\ninterpretation (a reading of the sources, not their text):\n");
    for (const auto& i : p.interpretation()) absl::StrAppend(&out, "  * ", i, "\n");
  }
  if (!p.notional().empty()) {
    absl::StrAppend(&out, "\nnotional (fills a gap the sources leave):\n");
    for (const auto& n : p.notional()) absl::StrAppend(&out, "  * ", n, "\n");
  }
  return out;
}

std::vector<MatrixCell> TranslationMatrix(const engine::Catalog& catalog) {
  std::vector<MatrixCell> cells;
  for (const auto& from : catalog.policies()) {
    for (int l = 0; l < from->level_count(); ++l) {
      for (const auto& to : catalog.policies()) {
        const engine::IntervalMapping m = engine::MapInterval(from->level(l).low(), from->level(l).high(), *to);
        cells.push_back({from.get(), l, to.get(), m.level, m.most_severe, m.least_severe});
      }
    }
  }
  return cells;
}

std::string MatrixText(const engine::Catalog& catalog, const std::vector<MatrixCell>& cells) {
  std::string out = "Interval translation of every level (rows) into every scheme (columns).\n"
                    "A cell is the chosen level; (a..b) is the range of levels the interval overlaps.\n";
  const size_t schemes = catalog.policies().size();
  // Each column as wide as its widest cell.
  std::vector<size_t> width(schemes, 0);
  for (size_t t = 0; t < schemes; ++t) width[t] = catalog.policies()[t]->id().size();
  for (size_t i = 0; i < cells.size(); ++i) width[i % schemes] = std::max(width[i % schemes], Range(cells[i]).size());
  size_t i = 0;
  for (const auto& from : catalog.policies()) {
    absl::StrAppend(&out, "\nfrom ", from->id(), ":\n", absl::StrFormat("  %-24s", "level"));
    for (size_t t = 0; t < schemes; ++t) {
      absl::StrAppend(&out, "  ", absl::StrFormat("%-*s", static_cast<int>(width[t]), catalog.policies()[t]->id()));
    }
    absl::StrAppend(&out, "\n");
    for (int l = 0; l < from->level_count(); ++l) {
      absl::StrAppend(&out, absl::StrFormat("  %-24s", absl::StrCat(from->level(l).id(), " ", from->level(l).low(), "..",
                                                                    from->level(l).high())));
      for (size_t t = 0; t < schemes; ++t, ++i) {
        absl::StrAppend(&out, "  ", absl::StrFormat("%-*s", static_cast<int>(width[t]), Range(cells[i])));
      }
      absl::StrAppend(&out, "\n");
    }
  }
  return out;
}

std::string MatrixJson(const std::vector<MatrixCell>& cells) {
  // One cell per line, each on its line as one object.
  base::JsonWriter w({.layout = base::JsonWriter::Layout::kSpaced});
  w.BeginArray(base::JsonWriter::Layout::kBlock);
  for (const MatrixCell& c : cells) {
    w.BeginObject().Key("from").String(c.from->id()).Key("from_level").String(c.from->level(c.from_level).id());
    w.Key("to").String(c.to->id()).Key("level").String(c.to->level(c.level).id()).Key("levels").BeginArray();
    for (int l = c.most_severe; l <= c.least_severe; ++l) w.String(c.to->level(l).id());
    w.EndArray().Key("method").String("interval").EndObject();
  }
  w.EndArray();
  return w.Release();
}

std::string MatrixSvg(const engine::Catalog& catalog, const std::vector<MatrixCell>& cells) {
  const int label_w = 230, cell_w = 132, cell_h = 22, top = 92, gap = 8;
  const int columns = catalog.policies().size();
  int rows = 0;
  for (const auto& p : catalog.policies()) rows += p->level_count();
  const int groups = catalog.policies().size();
  const int width = label_w + columns * cell_w + 20;
  const int height = top + rows * cell_h + groups * gap + 60;
  std::string svg = absl::StrFormat(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"DejaVu Sans, Arial, sans-serif\" font-size=\"12\">\n"
      "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
      "<text x=\"10\" y=\"22\" font-size=\"16\" font-weight=\"bold\">sevex: every national level translated into every scheme (interval mapping)</text>\n"
      "<text x=\"10\" y=\"42\" fill=\"#444\">Rows: source scheme and level. Columns: target scheme. Colour: the target level's anchor on the shared 0-100 axis. '*': the interval overlaps more than one target level.</text>\n",
      width, height);
  for (int c = 0; c < columns; ++c) {
    absl::StrAppend(&svg, absl::StrFormat("<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" font-weight=\"bold\">%s</text>\n",
                                          label_w + c * cell_w + cell_w / 2, top - 10, XmlEscape(catalog.policies()[c]->id())));
  }
  int y = top;
  size_t i = 0;
  for (const auto& from : catalog.policies()) {
    for (int l = 0; l < from->level_count(); ++l) {
      absl::StrAppend(&svg, absl::StrFormat("<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s %s <tspan fill=\"#777\">%d-%d</tspan></text>\n",
                                            label_w - 8, y + 15, XmlEscape(from->id()), XmlEscape(from->level(l).id()),
                                            from->level(l).low(), from->level(l).high()));
      for (int c = 0; c < columns; ++c, ++i) {
        const MatrixCell& cell = cells[i];
        const v1::Level& target = cell.to->level(cell.level);
        const double mid = (target.low() + target.high()) / 2.0;
        const std::string ink = mid >= 70 ? "white" : "black";
        absl::StrAppend(&svg, absl::StrFormat(
            "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\" stroke=\"#ccc\"><title>%s %s -&gt; %s %s</title></rect>"
            "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"%s\">%s%s</text>\n",
            label_w + c * cell_w, y, cell_w, cell_h, HeatColour(mid), XmlEscape(from->id()), XmlEscape(from->level(l).id()),
            XmlEscape(cell.to->id()), XmlEscape(Range(cell)), label_w + c * cell_w + cell_w / 2, y + 15, ink,
            XmlEscape(target.id()), cell.most_severe == cell.least_severe ? "" : "*"));
      }
      y += cell_h;
    }
    y += gap;
  }
  // Legend.
  y += 10;
  absl::StrAppend(&svg, absl::StrFormat("<text x=\"10\" y=\"%d\">shared axis:</text>\n", y + 14));
  for (int s = 0; s <= 100; s += 10) {
    absl::StrAppend(&svg, absl::StrFormat("<rect x=\"%d\" y=\"%d\" width=\"40\" height=\"18\" fill=\"%s\" stroke=\"#ccc\"/>"
                                          "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"%s\">%d</text>\n",
                                          100 + s * 4, y, HeatColour(s), 120 + s * 4, y + 14, s >= 70 ? "white" : "black", s));
  }
  absl::StrAppend(&svg, "</svg>\n");
  return svg;
}

}  // namespace sevex::cli
