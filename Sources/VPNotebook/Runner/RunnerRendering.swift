import VPEngine

/// The runner's renderings of results, for other front ends and for tests: the same HTML a `compare` block
/// produces, from plain `RunResult`s.
public enum RunnerRendering {
  /// Groups results by run name (`RunResult.name`), in first-appearance order.
  static func groups(_ results: [RunResult]) -> [RunGroup] {
    var order: [String] = []
    var byName: [String: [RunResult]] = [:]
    for result in results {
      if byName[result.name] == nil { order.append(result.name) }
      byName[result.name, default: []].append(result)
    }
    return order.map { name in
      let results = byName[name]!
      let first = results[0]
      let method: RunMethod =
        first.mapping.map { first.training == nil ? .zeroShot($0) : .prompt($0) } ?? .linearProbe
      return RunGroup(
        name: name, method: method, model: first.model, data: DataSpec(name: first.dataset), prompt: first.prompt,
        axes: [], results: results)
    }
  }

  /// The results table of a `compare` block (one row per run name, mean ± std over the seeds) with its note.
  public static func resultsTable(_ results: [RunResult]) -> String {
    let groups = groups(results)
    return ResultsView.table(groups).html() + ResultsView.tableNote(groups)
  }

  /// The per-epoch chart of a `compare` block: one line per run name, a ± std band over seeds.
  ///
  /// - Parameter metric: `val`, `test`, `train` or `loss` (nil: validation accuracy when recorded).
  public static func curves(_ results: [RunResult], metric: String? = nil) -> String? {
    ResultsView.curves(groups(results), metric: metric.flatMap(CurveMetric.init(rawValue:)))?.html
  }
}
