/// BLM: every source logit, weighted by ω from the frequency matrix (Laplace smoothing λ), recomputed every
/// `interval` epochs.
public enum BayesianLabelMapping: MappingPolicy {
  public static let summary = "Bayesian-guided: all source logits weighted by ω from the frequency matrix"
  public static let options: [MappingOption] = [.interval, .lambda]
  public static let form = MappingForm.weighted
  public static let schedule = RemapSchedule.everyInterval

  public static func remap(_ d: FrequencyMatrix, config: MappingConfig) -> (sources: [[Int]], omega: [Float]) {
    BayesianRemap.remap(d, config: config)
  }
}
