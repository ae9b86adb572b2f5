internal import CCmark
import Foundation
import VPData
import VPEngine
import VPTensor

/// Puts the report together: each block's outputs in place of its code, numbered floats, the banner, the
/// run appendix, and the JSON manifest.
enum ReportAssembler {
  struct Context {
    var source: NotebookSource
    var plan: [PlannedBlock]
    var reports: [BlockReport]
    var panels: [Int: [Panel]]
    var parameters: ResolvedParameters
    var session: Session
    var inputs: [InputDigest]
    var errors: [NotebookError]
    var options: RunnerOptions
    var seconds: Double
  }

  // MARK: - The page

  static func page(_ context: Context) -> String {
    var outputs: [Int: String] = [:]
    for (block, report) in zip(context.plan, context.reports) {
      outputs[block.step.blockIndex] = stepHTML(
        block, report: report, panels: context.panels[block.step.ordinal], parameters: context.parameters)
    }
    let body = context.source.render(outputs: outputs, unsafe: context.options.unsafe)
    var banner: String?
    if let failed = context.reports.first(where: { $0.status == .failed }) {
      let count = context.reports.filter { $0.status == .failed }.count
      let skipped = context.reports.filter { $0.status == .skipped || $0.status == .notRun }.count
      var message =
        count == 1
        ? "Step \(failed.ordinal) failed: \(failed.message ?? "")"
        : "\(count) steps failed; the first, step \(failed.ordinal): \(failed.message ?? "")"
      if skipped > 0 { message += " (\(skipped) later step\(skipped == 1 ? "" : "s") did not run.)" }
      banner = ReportPage.errorBanner(message: message, anchor: failed.anchor)
    }
    let frontMatter = context.source.frontMatter
    let page = ReportPage(
      title: frontMatter.title ?? URL(fileURLWithPath: context.source.file).deletingPathExtension().lastPathComponent,
      authors: frontMatter.authors, description: frontMatter.description, toc: context.source.document.headings,
      bodyHTML: body, appendixHTML: appendix(context), bannerHTML: banner,
      generator: "vpbook \(context.options.vpbookVersion)")
    return withStyle(page.html())
  }

  /// The page with the runner's style sheet added to the head.
  static func withStyle(_ html: String) -> String {
    let marker = "</style>\n</head>"
    guard let range = html.range(of: marker) else { return html }
    return html.replacingCharacters(in: range, with: css + marker)
  }

  /// A page for a notebook that cannot be parsed at all.
  static func errorPage(file: String, error: NotebookError) -> String {
    let page = ReportPage(
      title: URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent,
      bodyHTML: HTML.errorBox(
        id: "vp-notebook-error", title: "The notebook could not be read", message: error.description),
      bannerHTML: ReportPage.errorBanner(message: error.description, anchor: "vp-notebook-error"))
    return withStyle(page.html())
  }

  /// One step: a header (where it is, the parameters it read, ran or cached), its code, and its outputs
  /// (a numbered figure or table when the block has a label).
  static func stepHTML(
    _ block: PlannedBlock, report: BlockReport, panels: [Panel]?, parameters: ResolvedParameters
  ) -> String {
    let step = block.step
    let echo = (step.info.attributes["echo"] ?? "true").lowercased() != "false"
    let status = report.status
    var html = "<section class=\"vp-step vp-step-\(status.rawValue)\""
    if step.info.label == nil { html += " id=\"\(HTML.escape(step.anchor))\"" }
    html += ">\n"
    if echo || status == .failed {
      html +=
        "<div class=\"vp-step-head\"><span class=\"vp-step-loc\">Step \(step.ordinal) · line \(block.firstLine)</span>"
      let read = parameters.values(of: block.parametersRead)
      if !read.isEmpty {
        html +=
          "<span class=\"vp-step-params\">"
          + read.map { "\(HTML.escape($0.name)) = \(HTML.escape($0.value.text))" }.joined(separator: ", ") + "</span>"
      }
      html += "<span class=\"vp-badge vp-badge-\(status.rawValue)\">\(badge(report))</span></div>\n"
      var code = step.code
      while code.hasSuffix("\n") { code.removeLast() }
      html += "<pre class=\"vp-code\"><code class=\"language-vp\">\(HTML.escape(code))</code></pre>\n"
    }
    switch status {
    case .failed:
      let id = step.info.label ?? step.anchor + "-error"
      html += HTML.errorBox(id: id, title: "This step failed", message: report.message ?? "")
    case .skipped:
      if let label = step.info.label { html += "<div id=\"\(HTML.escape(label))\"></div>" }
      html +=
        "<p class=\"vp-note vp-not-run\">Skipped: \(HTML.escape(report.message ?? "a step it depends on failed")).</p>\n"
    case .notRun:
      if let label = step.info.label { html += "<div id=\"\(HTML.escape(label))\"></div>" }
      html +=
        "<p class=\"vp-note vp-not-run\">Not run: the run stopped at an earlier failure "
        + "(use --keep-going to run the steps that do not depend on it).</p>\n"
    case .ran, .cached:
      html += float(step, panels: panels ?? [])
    }
    return html + "</section>\n"
  }

  static func badge(_ report: BlockReport) -> String {
    switch report.status {
    case .ran: return "ran in " + duration(report.seconds)
    case .cached: return "from cache"
    case .failed: return "failed"
    case .skipped: return "skipped"
    case .notRun: return "not run"
    }
  }

  static func duration(_ seconds: Double) -> String {
    if seconds < 0.05 { return "< 0.1 s" }
    if seconds < 60 { return NumberFormat.fixed(seconds, decimals: 1) + " s" }
    return "\(Int(seconds) / 60) min \(Int(seconds) % 60) s"
  }

  /// The panels, wrapped in the block's numbered figure or table when it has a label.
  static func float(_ step: NotebookSource.Step, panels: [Panel]) -> String {
    let lettered = panels.filter { $0.kind != .note && $0.title != nil }.count > 1
    var content = ""
    var letter = 0
    for panel in panels {
      guard panel.kind != .note else {
        content += panel.html
        continue
      }
      content += "<div class=\"vp-panel vp-panel-\(panel.kind.rawValue)\">\n"
      if let title = panel.title {
        content += "<p class=\"vp-panel-title\">"
        if lettered {
          let scalar = Unicode.Scalar(UInt8(97 + letter % 26))
          content += "<span class=\"vp-panel-letter\">(\(Character(scalar)))</span> "
          letter += 1
        }
        content += HTML.escape(title) + "</p>\n"
      }
      content += panel.html + (panel.html.hasSuffix("\n") ? "" : "\n") + "</div>\n"
    }
    let caption = step.info.caption
    if let target = step.target {
      switch target.kind {
      case .figure:
        return Figure(id: target.label, number: target.number, caption: caption, content: content).html()
      case .table:
        var html = "<div class=\"vp-float vp-table-float\" id=\"\(HTML.escape(target.label))\">\n"
        html +=
          "<p class=\"vp-float-caption\"><span class=\"vp-label\">Table \(target.number)\(caption == nil ? "" : ":")</span>"
        html += (caption.map { " " + HTML.escape($0) } ?? "") + "</p>\n"
        return html + content + "</div>\n"
      }
    }
    if let caption {
      return Figure(id: nil, number: nil, caption: caption, content: content).html()
    }
    return content
  }

  // MARK: - Appendix

  static func appendix(_ context: Context) -> String {
    var html = ""
    let parameters = context.source.parameters
    if !parameters.isEmpty {
      html += "<h3 id=\"appendix-parameters\">Parameters</h3>\n"
      let rows = parameters.declarations.map { declaration -> [ResultsTable.Cell] in
        let value = context.parameters[declaration.name]?.text ?? ""
        let source = context.parameters.sources[declaration.name]?.rawValue ?? "default"
        return [
          .text(declaration.name), .text(value), .text(declaration.type.description), .text(source),
          .text(declaration.help ?? ""),
        ]
      }
      html += ResultsTable(
        columns: ["Name", "Value", "Type", "Set by", "Meaning"].map { ResultsTable.Column($0, better: .none) },
        rows: rows
      ).html()
    }
    let seeds = Set(
      context.session.groups.values.flatMap { group -> [UInt64] in
        if case .zeroShot = group.method { return [] }
        return group.seeds
      }
    ).sorted()
    html += "<h3 id=\"appendix-environment\">Environment</h3>\n"
    var environment: [(String, String)] = [
      ("vpbook", context.options.vpbookVersion),
      ("libcmark", String(cString: cmark_version_string())),
      ("OpenBLAS", BLAS.configuration),
      ("kernels", BLASKernels.summary),
      ("git commit", gitCommit(near: context.source.file) ?? "unavailable"),
      ("CPU cores", "\(ProcessInfo.processInfo.activeProcessorCount)"),
      ("seeds", seeds.isEmpty ? "none" : seeds.map(String.init).joined(separator: ", ")),
      ("generated", ISO8601DateFormatter().string(from: Date())),
    ]
    let ran = context.reports.filter { $0.status == .ran }.count
    let cached = context.reports.filter { $0.status == .cached }.count
    environment.append(
      (
        "run",
        "\(duration(context.seconds)) in all; \(ran) step\(ran == 1 ? "" : "s") executed, \(cached) from the cache"
          + (context.options.useCache ? "" : " (cache off)")
      ))
    environment.append(("peak memory (RSS)", MemoryBudget.format(MemoryBudget.peakResidentBytes)))
    html += ResultsTable(
      columns: [.init("Item", better: .none), .init("Value", better: .none)],
      rows: environment.map { [.text($0.0), .text($0.1)] }
    ).html()
    if !context.inputs.isEmpty {
      html += "<h3 id=\"appendix-inputs\">Input files</h3>\n"
      let rows = context.inputs.map { input -> [ResultsTable.Cell] in
        [
          .text(input.path), .text((input.isListing ? "listing " : "") + String(input.sha256.prefix(16)) + "…"),
          .text(byteCount(input.bytes)),
        ]
      }
      html += ResultsTable(
        columns: [.init("File", better: .none), .init("SHA-256", better: .none), .init("Size", better: .none)],
        rows: rows
      ).html()
    }
    html += "<h3 id=\"appendix-steps\">Steps</h3>\n"
    let rows = context.reports.map { report -> [ResultsTable.Cell] in
      [
        .text("\(report.ordinal)"), .text("\(report.line)"), .text(report.summary), .text(report.status.rawValue),
        report.status == .ran || report.status == .cached || report.status == .failed
          ? .value(report.seconds) : .empty,
        .text(report.key.map { String($0.prefix(12)) } ?? "–"),
      ]
    }
    html += ResultsTable(
      columns: [
        .init("Step", better: .none), .init("Line", better: .none), .init("Statement", better: .none),
        .init("Status", better: .none), .init("Wall time", unit: "s", better: .none, decimals: 2),
        .init("Cache key", better: .none),
      ], rows: rows
    ).html()
    return html
  }

  static func byteCount(_ bytes: Int64) -> String {
    let value = Double(bytes)
    if value >= 1_048_576 { return NumberFormat.fixed(value / 1_048_576, decimals: 1) + " MiB" }
    if value >= 1024 { return NumberFormat.fixed(value / 1024, decimals: 1) + " KiB" }
    return "\(bytes) B"
  }

  /// `git rev-parse HEAD` in the notebook's folder, if git and a repository are there.
  static func gitCommit(near file: String) -> String? {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["git", "-C", URL(fileURLWithPath: file).deletingLastPathComponent().path, "rev-parse", "HEAD"]
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    do {
      try process.run()
    } catch {
      return nil
    }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { return nil }
    let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    return text.isEmpty ? nil : text
  }

  // MARK: - Manifest

  struct Manifest: Encodable {
    var notebook: String
    var title: String?
    var vpbook: String
    var generated: String
    var succeeded: Bool
    var seconds: Double
    var parameters: [String: ParameterValue]
    var parameterSources: [String: ResolvedParameters.Source]
    var blocks: [BlockReport]
    var errors: [String]
    var runs: [RunGroup]
    var inputs: [InputDigest]
    var environment: [String: String]
  }

  static func manifest(_ context: Context) -> Data {
    let manifest = Manifest(
      notebook: context.source.file, title: context.source.frontMatter.title, vpbook: context.options.vpbookVersion,
      generated: ISO8601DateFormatter().string(from: Date()), succeeded: context.errors.isEmpty,
      seconds: context.seconds, parameters: context.parameters.values, parameterSources: context.parameters.sources,
      blocks: context.reports, errors: context.errors.map(\.description),
      runs: context.session.order.compactMap { context.session.groups[$0] }, inputs: context.inputs,
      environment: [
        "libcmark": String(cString: cmark_version_string()), "OpenBLAS": BLAS.configuration,
        "kernels": BLASKernels.summary,
        "git": gitCommit(near: context.source.file) ?? "unavailable",
        "peakResidentBytes": "\(MemoryBudget.peakResidentBytes)",
      ])
    return (try? ResultsJSON.encoder(pretty: true).encode(manifest)) ?? Data("{}".utf8)
  }

  // MARK: - Style

  /// The runner's additions to `ReportPage.css`: steps, panels, image grids, badges.
  static let css = """
    .vp-step { margin: 1.5rem 0 2rem; }
    .vp-step-head { display: flex; flex-wrap: wrap; gap: 0.35rem 0.9rem; align-items: baseline; margin: 0 0 0.3rem;
      font-family: system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; font-size: 0.75rem;
      color: var(--muted); }
    .vp-step-params { font-family: ui-monospace, "DejaVu Sans Mono", monospace; }
    .vp-badge { margin-left: auto; border-radius: 999px; padding: 0.05rem 0.6rem; font-weight: 600; }
    .vp-badge-ran { background: #e3eefa; color: #0b4f8a; }
    .vp-badge-cached { background: #e7f3e3; color: #2c6b1c; }
    .vp-badge-failed { background: #fdecea; color: #b3261e; }
    .vp-badge-skipped, .vp-badge-not-run { background: #efefef; color: #5f6368; }
    pre.vp-code { font-size: 0.8rem; margin: 0 0 0.75rem; background: #f6f8fa; border-left: 3px solid #c7d3df;
      border-radius: 0 4px 4px 0; }
    .vp-setup { font-size: 0.92rem; color: var(--muted); margin: 0.2rem 0; }
    .vp-setup strong { color: var(--ink); }
    .vp-note { font-size: 0.95rem; }
    .vp-not-run { color: var(--muted); font-style: italic; }
    .vp-panel { margin: 1.1rem 0 1.4rem; }
    .vp-panel-table { overflow-x: auto; }
    .vp-table-note { font-size: 0.8rem; color: var(--muted); margin: -1rem auto 0; max-width: 40rem; text-align: center;
      line-height: 1.4; }
    .vp-panel > svg.vp-chart { display: block; margin: 0 auto; }
    .vp-panel-title { font-size: 0.88rem; color: var(--muted); text-align: center; margin: 0 0 0.45rem;
      line-height: 1.4; }
    .vp-panel-letter { font-weight: 600; color: var(--ink); }
    .vp-panel table.vp-table { margin-top: 0.5rem; }
    .vp-float { margin: 1.75rem 0; }
    .vp-float-caption { text-align: center; font-size: 0.92rem; margin: 0 0 0.5rem; }
    figure.vp-figure > .vp-panel:first-child { margin-top: 0; }
    img.vp-pixels { image-rendering: crisp-edges; image-rendering: pixelated; }
    .vp-class-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(15rem, 1fr)); gap: 0.6rem 1.2rem;
      text-align: left; }
    .vp-class-card p { margin: 0 0 0.15rem; font-size: 0.82rem; overflow: hidden; text-overflow: ellipsis;
      white-space: nowrap; }
    .vp-class-card img { display: block; }
    .vp-muted { color: var(--muted); font-weight: normal; }
    table.vp-gallery th, table.vp-gallery td { vertical-align: middle; }
    table.vp-gallery tbody th { font-weight: normal; }
    table.vp-gallery img { display: block; }
    .vp-pred { white-space: nowrap; }
    .vp-sep { color: #9a9a9a; }
    .vp-borrowed { font-weight: 600; }
    .vp-prompt-view { display: flex; flex-wrap: wrap; gap: 1.5rem; align-items: flex-start; justify-content: center; }
    .vp-prompt-main { text-align: center; }
    .vp-prompt-main img { display: block; margin: 0 auto; box-shadow: 0 0 0 1px #d0d0d0; }
    .vp-prompt-grid { display: grid; grid-template-columns: repeat(3, auto); gap: 0.6rem 0.9rem; }
    .vp-tile { text-align: center; }
    .vp-tile img { display: block; margin: 0 auto; }
    .vp-tile-caption { font-size: 0.78rem; color: var(--muted); margin: 0.2rem 0 0; max-width: 12rem; }
    .vp-smm-grid { display: flex; flex-wrap: wrap; gap: 0.8rem 1.6rem; justify-content: center; }
    .vp-smm-row { display: grid; grid-template-columns: repeat(3, auto); gap: 0.3rem; align-items: center; }
    .vp-smm-row .vp-tile-caption { grid-column: 1 / -1; max-width: none; text-align: center; }
    .vp-appendix table.vp-table { font-size: 0.82rem; }
    .vp-appendix table.vp-table { width: 100%; }
    .vp-appendix td { overflow-wrap: break-word; }
    @media print {
      .vp-step-head { display: none; }
      pre.vp-code { font-size: 7.5pt; }
      .vp-panel, .vp-class-card, .vp-prompt-view { break-inside: avoid; page-break-inside: avoid; }
    }

    """
}
