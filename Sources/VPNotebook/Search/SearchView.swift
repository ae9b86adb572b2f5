import Foundation
import VPEngine
import VPReport

/// A search in the report (summary, trial table, the ASHA chart, the final runs) and in JSON/CSV files.
enum SearchView {
  /// The final runs as a run group (registered under the search's name: `show` statements can use it).
  static func group(name: String, outcome: SearchOutcome, ledger: Ledger) throws -> RunGroup {
    let config = ledger.definition.finalConfig(outcome.chosen)
    return RunGroup(
      name: name, method: .prompt(config.mapping), model: config.model.name.rawValue, data: config.data,
      prompt: config.prompt, axes: config.point, results: outcome.finals)
  }

  static func panels(_ outcome: SearchOutcome, group: RunGroup) -> [Panel] {
    [summary(outcome, group: group), trialTable(outcome), chart(outcome), ResultsView.tablePanel([group])]
  }

  static func strategyText(_ outcome: SearchOutcome) -> String {
    switch outcome.strategy {
    case .grid: return "A grid search"
    case .random: return "A random search"
    case .asha:
      return
        "ASHA (rungs at \(outcome.rungs.map(String.init).joined(separator: ", ")) epochs, η = \(outcome.eta), decided as if \(outcome.parallel) workers ran it)"
    }
  }

  static func summary(_ outcome: SearchOutcome, group: RunGroup) -> Panel {
    let chosen = outcome.trials[outcome.chosen]
    let test = Summary(outcome.finals.map(\.testAccuracy))
    let axes = outcome.axes.map { "\($0[0]) (\($0.count - 1))" }.joined(separator: " × ")
    let seedsText = outcome.finals.map { String($0.seed) }.joined(separator: ", ")
    let html = """
      <div class="vp-summary">
      <p>\(HTML.escape(strategyText(outcome))) over \(outcome.trials.count) of the \(outcome.gridSize) points of \
      \(HTML.escape(axes)), selected on the validation split.</p>
      <p><strong>Chosen: trial \(chosen.id), \(HTML.escape(chosen.label))</strong> — validation \
      \(String(format: "%.1f", chosen.validationAccuracy * 100)) % after \(chosen.epochs) epochs. Retrained for \
      \(outcome.finalEpochs) epochs with seed\(outcome.finals.count > 1 ? "s" : "") \(seedsText): test \
      \(test.formatted()) %.</p>
      <p>Compute: \(outcome.trialEpochs) trial-epochs against \(outcome.fullGridEpochs) for the full grid at \
      \(outcome.rungs.last!) epochs (\(String(format: "%.0f", 100 * Double(outcome.trialEpochs) / Double(max(1, outcome.fullGridEpochs)))) %); \
      \(String(format: "%.0f", outcome.trialSeconds)) s of trial training against about \
      \(String(format: "%.0f", outcome.fullGridSeconds)) s for the full grid (from each trial's seconds per \
      epoch).</p>
      </div>
      """
    return Panel(kind: .note, title: "Search", html: html)
  }

  static func trialTable(_ outcome: SearchOutcome) -> Panel {
    var columns = [ResultsTable.Column("Trial", better: .none, decimals: 0)]
    columns += outcome.axes.map { ResultsTable.Column($0[0], better: .none) }
    columns += [
      ResultsTable.Column("Epochs", better: .none, decimals: 0),
      ResultsTable.Column("Val. acc.", unit: "%", better: .higher, decimals: 1),
      ResultsTable.Column("Status", better: .none),
      ResultsTable.Column("Time", unit: "s", better: .none, decimals: 0),
    ]
    let rows = outcome.trials.map { trial -> [ResultsTable.Cell] in
      var row: [ResultsTable.Cell] = [.text(String(trial.id) + (trial.id == outcome.chosen ? " (chosen)" : ""))]
      row += outcome.axes.map { axis in
        .text(trial.point.first { $0[0] == axis[0] }?[1] ?? "")
      }
      row += [
        .text(String(trial.epochs)), .measurement(.init(mean: trial.validationAccuracy * 100)), .text(trial.status),
        .measurement(.init(mean: trial.seconds)),
      ]
      return row
    }
    let table = ResultsTable(columns: columns, rows: rows)
    return Panel(title: "Trials: validation accuracy of the state selected at the last rung reached", table: table)
  }

  /// One line per trial, coloured by how far it got (the ASHA picture: many short lines, a few long ones):
  /// a series per status, its trials' curves joined by breaks, and the chosen trial on its own.
  static func chart(_ outcome: SearchOutcome) -> Panel {
    var groups: [(name: String, trials: [SearchOutcome.Trial])] = []
    for epochs in outcome.rungs {
      let trials = outcome.trials.filter { $0.epochs == epochs && $0.id != outcome.chosen }
      guard !trials.isEmpty else { continue }
      let name =
        epochs == outcome.rungs.last!
        ? "completed \(epochs) epochs (\(trials.count))" : "stopped at \(epochs) (\(trials.count))"
      groups.append((name, trials))
    }
    groups.append(("chosen: trial \(outcome.chosen)", [outcome.trials[outcome.chosen]]))
    let series = groups.map { group -> SVGChart.Line.Series in
      var x: [Double] = []
      var y: [Double] = []
      for trial in group.trials {
        if !x.isEmpty {
          x.append(.nan)
          y.append(.nan)
        }
        x += trial.curve.indices.map { Double($0 + 1) }
        y += trial.curve.map { $0 * 100 }
      }
      return SVGChart.Line.Series(name: group.name, x: x, y: y)
    }
    let title = "Validation accuracy (%) per epoch of every trial"
    let chart = SVGChart.Line(series: series, xLabel: "epoch", yLabel: "validation accuracy (%)", title: title)
    return Panel(kind: .figure, title: title, html: chart.svg())
  }

  // MARK: - Files

  /// The trial table as CSV: one row per trial, a column per axis.
  static func csv(_ outcome: SearchOutcome) -> String {
    var lines = [
      (["trial"] + outcome.axes.map { $0[0] } + ["epochs", "validation_accuracy", "status", "seconds", "chosen"])
        .map(ResultsTable.csvField).joined(separator: ",")
    ]
    for trial in outcome.trials {
      let values =
        [String(trial.id)] + outcome.axes.map { axis in trial.point.first { $0[0] == axis[0] }?[1] ?? "" }
        + [
          String(trial.epochs), ResultsTable.csvNumber(trial.validationAccuracy), trial.status,
          String(format: "%.3f", trial.seconds),
          trial.id == outcome.chosen ? "yes" : "no",
        ]
      lines.append(values.map(ResultsTable.csvField).joined(separator: ","))
    }
    return lines.joined(separator: "\n") + "\n"
  }
}
