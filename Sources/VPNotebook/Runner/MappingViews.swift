import Foundation
import VPEngine
import VPModels

/// What the frozen model predicts for the target classes, and which source classes a mapping borrows.
enum MappingViews {
  /// The share of target class `t`'s images predicted as each source class (column-normalised).
  static func shares(_ d: FrequencyMatrix, target t: Int) -> [Double] {
    var total = 0.0
    for s in 0..<d.sources { total += d[s, t] }
    return (0..<d.sources).map { total > 0 ? d[$0, t] / total : 0 }
  }

  static func percentText(_ share: Double) -> String {
    let value = share * 100
    return NumberFormat.fixed(value, decimals: value < 9.95 && value > 0 ? 1 : 0) + " %"
  }

  static func clip(_ text: String, _ limit: Int) -> String {
    text.count > limit ? String(text.prefix(limit - 1)) + "…" : text
  }

  /// `show zero-shot`: per target class, the source classes the frozen model predicts most often with the
  /// untrained prompt, beside a few of the class's images; and the zero-shot accuracy of a frequency mapping.
  static func zeroShot(
    _ result: RunResult, data: PreparedSplit, sourceNames: [String], top: Int, count: Int, classes: Int?
  ) -> [Panel] {
    guard let d = result.frequency else { return [] }
    let set = data.train
    let examples = ImageViews.examples(set, count: count)
    let shown = min(d.targets, classes ?? d.targets)
    var html = "<table class=\"vp-table vp-gallery\">\n<thead><tr><th scope=\"col\">Target class</th>"
    if count > 0 { html += "<th scope=\"col\">Examples</th>" }
    html +=
      "<th scope=\"col\">What the frozen model predicts <span class=\"vp-unit\">(share of the class's "
      + "\(set.count / max(1, set.classCount)) training images)</span></th></tr></thead>\n<tbody>\n"
    for t in 0..<shown {
      let share = shares(d, target: t)
      let order = share.indices.sorted { share[$0] > share[$1] || (share[$0] == share[$1] && $0 < $1) }
        .prefix(top).filter { share[$0] > 0 }
      let name = result.classNames[t]
      html += "<tr><th scope=\"row\">\(HTML.escape(name))</th>"
      if count > 0 {
        html += "<td>" + ImageViews.classStrip(set, indices: examples[t], className: name, target: 40) + "</td>"
      }
      let items = order.map { s in
        "<span class=\"vp-pred\">\(HTML.escape(sourceNames[s])) <span class=\"vp-muted\">\(percentText(share[s]))</span></span>"
      }
      html += "<td>" + items.joined(separator: "<span class=\"vp-sep\"> · </span>") + "</td></tr>\n"
    }
    html += "</tbody>\n</table>\n"
    let chance = 100.0 / Double(max(1, d.targets))
    let title =
      "Top-\(top) ImageNet predictions of the frozen model for each target class, with the untrained prompt"
      + (shown < d.targets ? " (the first \(shown) of \(d.targets) classes)" : "")
    let note =
      "<p class=\"vp-note\">Mapping each target class to its most frequent ImageNet class (FLM) without any training "
      + "gives <strong>\(NumberFormat.fixed(result.testAccuracy * 100, decimals: 1)) %</strong> test accuracy on "
      + "\(result.testCount) test images (chance: \(NumberFormat.fixed(chance, decimals: 1)) %).</p>\n"
    return [Panel(kind: .table, title: title, html: html), Panel(kind: .note, title: nil, html: note)]
  }

  /// `show mapping`: the frequency matrix as a heat map, the borrowed source class of each target with a few
  /// target images, and for remapping methods the epoch-by-epoch timeline of the mapping.
  static func mapping(
    _ group: RunGroup, data: PreparedSplit, sourceNames: [String], top: Int, count: Int, classes: Int?
  ) -> [Panel] {
    guard let result = group.first else { return [] }
    var panels: [Panel] = []
    let targetCount = result.classNames.count
    let shown = min(targetCount, classes ?? targetCount)
    let seedNote = group.results.count > 1 ? " (seed \(result.seed))" : ""
    let kind = group.method.mapping?.kind
    if let d = result.frequency {
      panels.append(
        heatMap(result, d: d, sourceNames: sourceNames, top: top, shown: shown, group: group, seedNote: seedNote))
    } else if kind == .rlm {
      panels.append(
        Panel(
          kind: .note, title: nil,
          html: "<p class=\"vp-note\">RLM draws its one-to-one mapping at random and never looks at the model's "
            + "predictions, so there is no frequency matrix to show.</p>\n"))
    }
    panels.append(
      borrowedTable(
        group, result: result, data: data, sourceNames: sourceNames, count: count, shown: shown, seedNote: seedNote))
    if let kind, kind.policy.remaps, result.history.count > 1, result.history.contains(where: { $0.mapping != nil }) {
      panels.append(timeline(result, sourceNames: sourceNames, shown: shown, name: group.name, seedNote: seedNote))
    }
    return panels
  }

  static func heatMap(
    _ result: RunResult, d: FrequencyMatrix, sourceNames: [String], top: Int, shown: Int, group: RunGroup,
    seedNote: String
  ) -> Panel {
    let targetShares = (0..<shown).map { shares(d, target: $0) }
    // The sources that matter most: the largest summed share over the shown targets (each class weighs the
    // same), ordered by the first target mapped to them so that a good mapping reads as a diagonal.
    var mass = [Double](repeating: 0, count: d.sources)
    for share in targetShares { for s in 0..<d.sources { mass[s] += share[s] } }
    var chosen = mass.indices.filter { mass[$0] > 0 }.sorted {
      mass[$0] > mass[$1] || (mass[$0] == mass[$1] && $0 < $1)
    }
    chosen = Array(chosen.prefix(top))
    let mapping = result.finalMapping ?? []
    func firstTarget(_ s: Int) -> Int {
      mapping.enumerated().first { $0.element.contains(s) }?.offset ?? Int.max
    }
    chosen.sort { (firstTarget($0), $0) < (firstTarget($1), $1) }
    let values = targetShares.map { share in chosen.map { share[$0] * 100 } }
    let maxValue = max(1, values.flatMap { $0 }.max() ?? 1)
    let chart = SVGChart.HeatMap(
      rowLabels: (0..<shown).map { clip(result.classNames[$0], 24) },
      columnLabels: chosen.map { clip(sourceNames[$0], 18) }, values: values,
      xLabel: "\(sourceNoun(group, sources: d.sources)) (the \(chosen.count) most predicted of \(d.sources))",
      yLabel: "target class",
      title: "Frequency matrix of run \(group.name)", valueRange: 0...maxValue, showValues: true, decimals: 0,
      width: 680)
    let title =
      "Frequency matrix of run \(group.name)\(seedNote): the share (%) of each target class's training images that "
      + "the frozen model, with the final prompt, predicts as each \(sourceNoun(group, sources: d.sources))"
    return Panel(kind: .figure, title: title, html: chart.svg())
  }

  /// What a source class of `group`'s model is called: an ImageNet class, one of CLIP's text prompts (its
  /// task-dependent sources), or a source class.
  static func sourceNoun(_ group: RunGroup, sources: Int) -> String {
    if sources == 1000 { return "ImageNet class" }
    return group.model == ModelName.clip.rawValue ? "text prompt" : "source class"
  }

  static func borrowedTable(
    _ group: RunGroup, result: RunResult, data: PreparedSplit, sourceNames: [String], count: Int, shown: Int,
    seedNote: String
  ) -> Panel {
    let set = data.train
    let examples = ImageViews.examples(set, count: count)
    let isBLM = group.method.mapping?.policy.form == .weighted
    var changes = [[Int]](repeating: [], count: result.classNames.count)
    for record in result.history.dropFirst() {
      for t in record.remappedTargets where t < changes.count { changes[t].append(record.epoch) }
    }
    let showChanges = changes.contains { !$0.isEmpty }
    var html = "<table class=\"vp-table vp-gallery\">\n<thead><tr><th scope=\"col\">Target class</th>"
    if count > 0 { html += "<th scope=\"col\">Target images</th>" }
    let noun = sourceNoun(group, sources: sourceNames.count)
    html += "<th scope=\"col\">\(isBLM ? "Most weighted" : "Borrowed") \(noun)</th>"
    html += "<th scope=\"col\" class=\"num\">Predicted as it <span class=\"vp-unit\">(%)</span></th>"
    if showChanges { html += "<th scope=\"col\">Remapped at epoch</th>" }
    html += "</tr></thead>\n<tbody>\n"
    for t in 0..<shown {
      let name = result.classNames[t]
      let sources = result.finalMapping.map { t < $0.count ? $0[t] : [] } ?? []
      let share = result.frequency.map { shares($0, target: t) }
      html += "<tr><th scope=\"row\">\(HTML.escape(name))</th>"
      if count > 0 {
        html += "<td>" + ImageViews.classStrip(set, indices: examples[t], className: name, target: 40) + "</td>"
      }
      html +=
        "<td>"
        + sources.map { "<span class=\"vp-borrowed\">\(HTML.escape(sourceNames[$0]))</span>" }
        .joined(separator: ", ") + "</td>"
      let predicted = share.map { values in sources.reduce(0.0) { $0 + values[$1] } }
      html += "<td class=\"num\">" + (predicted.map { NumberFormat.fixed($0 * 100, decimals: 0) } ?? "–") + "</td>"
      if showChanges {
        html +=
          "<td>"
          + (changes[t].isEmpty
            ? "<span class=\"vp-muted\">–</span>" : changes[t].map(String.init).joined(separator: ", ")) + "</td>"
      }
      html += "</tr>\n"
    }
    html += "</tbody>\n</table>\n"
    var title = "The \(noun) each target class borrows in run \(group.name)\(seedNote)"
    if shown < result.classNames.count { title += " (the first \(shown) of \(result.classNames.count) classes)" }
    return Panel(kind: .table, title: title, html: html)
  }

  /// The mapping epoch by epoch: one row per target class, one cell per epoch; the first assignment, the
  /// epochs where a target was remapped, and the epochs where it kept its source are told apart by colour.
  static func timeline(_ result: RunResult, sourceNames: [String], shown: Int, name: String, seedNote: String) -> Panel
  {
    let epochs = result.history.count
    let labels = (0..<shown).map { clip(result.classNames[$0], 24) }
    let finals = (0..<shown).map { t -> String in
      let sources = result.finalMapping.map { t < $0.count ? $0[t] : [] } ?? []
      return clip(sources.map { sourceNames[$0] }.joined(separator: ", "), 22)
    }
    let labelWidth = (labels.map { SVGChart.textWidth($0) }.max() ?? 0) + 12
    let finalWidth = (finals.map { SVGChart.textWidth($0) }.max() ?? 0) + 16
    let width = 680.0
    let cellWidth = max(8, min(34, (width - labelWidth - finalWidth - 16) / Double(max(1, epochs))))
    let cellHeight = 15.0
    let top = 26.0
    let left = labelWidth
    let gridBottom = top + Double(shown) * cellHeight
    let height = gridBottom + 58
    var svg = SVGWriter(width: width, height: height, title: "Mapping timeline of run \(name)", kind: "timeline")
    let initial = SVGChart.colour(5)
    let remapped = SVGChart.colour(1)
    let kept = "#e6e6e6"
    svg.open([("class", "vp-epoch-labels"), ("fill", "currentColor")])
    for e in 0..<epochs where epochs <= 20 || (e + 1) % max(1, epochs / 10) == 0 || e == 0 {
      svg.text("\(e + 1)", x: left + (Double(e) + 0.5) * cellWidth, y: top - 8)
    }
    svg.close()
    var previous: [[Int]]? = nil
    svg.open([("class", "vp-cells"), ("stroke", "#ffffff"), ("stroke-width", "1")])
    for (e, record) in result.history.enumerated() {
      let current = record.mapping ?? previous ?? []
      for t in 0..<shown {
        let now = t < current.count ? current[t] : []
        let before = previous.flatMap { t < $0.count ? $0[t] : nil }
        let changed = record.remappedTargets.contains(t)
        let fill = e == 0 ? initial : (changed ? remapped : kept)
        let names = now.map { sourceNames[$0] }.joined(separator: ", ")
        var tip = "\(result.classNames[t]), epoch \(record.epoch): "
        if e == 0 {
          tip += "mapped to \(names)"
        } else if changed, let before {
          tip += "remapped to \(names) (was \(before.map { sourceNames[$0] }.joined(separator: ", ")))"
        } else {
          tip += "kept \(names)"
        }
        svg.rect(
          x: left + Double(e) * cellWidth, y: top + Double(t) * cellHeight, width: cellWidth, height: cellHeight,
          fill: fill, tooltip: tip)
      }
      previous = current
    }
    svg.close()
    svg.open([("class", "vp-row-labels"), ("fill", "currentColor")])
    for (t, label) in labels.enumerated() {
      svg.text(label, x: left - 6, y: top + (Double(t) + 0.5) * cellHeight, anchor: "end", extra: [("dy", "0.32em")])
    }
    svg.close()
    let gridRight = left + Double(epochs) * cellWidth
    svg.open([("class", "vp-final-labels"), ("fill", "currentColor")])
    svg.text("final mapping", x: gridRight + 8, y: top - 8, anchor: "start", extra: [("font-style", "italic")])
    for (t, label) in finals.enumerated() {
      svg.text(
        label, x: gridRight + 8, y: top + (Double(t) + 0.5) * cellHeight, anchor: "start", extra: [("dy", "0.32em")])
    }
    svg.close()
    svg.text("epoch", x: left + Double(epochs) * cellWidth / 2, y: gridBottom + 18, extra: [("fill", "currentColor")])
    let legend = [("first mapping", initial), ("remapped before this epoch", remapped), ("kept", kept)]
    var x = left
    svg.open([("class", "vp-legend")])
    for (label, colour) in legend {
      svg.rect(x: x, y: gridBottom + 32, width: 12, height: 12, fill: colour)
      svg.text(
        label, x: x + 17, y: gridBottom + 38, anchor: "start", extra: [("dy", "0.32em"), ("fill", "currentColor")])
      x += 17 + SVGChart.textWidth(label) + 22
    }
    svg.close()
    let counts = result.history.dropFirst().map { "\($0.remappedTargets.count)" }
    var title = "How the mapping of run \(name)\(seedNote) changed from epoch to epoch"
    if !counts.isEmpty {
      title += "; targets remapped before epochs 2–\(epochs): " + counts.joined(separator: ", ")
    }
    return Panel(kind: .figure, title: title, html: svg.finish())
  }
}
