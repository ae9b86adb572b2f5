/// BLM+: BLM whose frequency matrix sums the top-k source probabilities of each image instead of top-1 counts.
public enum BayesianLabelMappingPlus: MappingPolicy {
  public static let summary = "BLM with top-k probability aggregation"
  public static let options: [MappingOption] = [.interval, .lambda, .topk]
  public static let form = MappingForm.weighted
  public static let schedule = RemapSchedule.everyInterval

  public static func remap(_ d: FrequencyMatrix, config: MappingConfig) -> (sources: [[Int]], omega: [Float]) {
    BayesianRemap.remap(d, config: config)
  }

  /// `topk`, or `max(1, int(0.15 K))`: the published rule without its k = 0 bug for K < 7.
  public static func frequencyTopK(_ config: MappingConfig, targets: Int) -> Int {
    config.topK ?? max(1, Int(0.15 * Double(targets)))
  }
}
