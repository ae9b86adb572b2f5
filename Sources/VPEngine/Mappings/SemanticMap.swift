import VPData

/// AutoVP's SemanticMap: each target takes its most similar source class names (WordNet Wu–Palmer similarity
/// instead of CLIP text embeddings), round-robin, m per target; fixed.
public enum SemanticMap: MappingPolicy {
  public static let summary = "AutoVP's SemanticMap: the most similar class names (WordNet), m per target, fixed"
  public static let options: [MappingOption] = [.m]
  public static let form = MappingForm.sourceAverage
  public static let schedule = RemapSchedule.never
  public static let needs: [MappingNeed] = [.sourceSynsets]

  public static func initialSources(
    _ config: MappingConfig, sources: Int, targets: Int, rng: inout SplitMix64, context: MappingContext
  ) throws -> [[Int]] {
    let synsets = try context.sourceSynsets()
    guard synsets.count == sources else {
      throw EngineError("mapping: semantic needs the source classes' WordNet synsets (ImageNet-1k models only)")
    }
    let similarity = SemanticSimilarity.matrix(
      targetNames: context.targetNames, imageNetSynsets: synsets, wordNet: try WordNet())
    return SemanticSimilarity.roundRobin(similarity, sources: sources, targets: targets, m: config.sourcesPerTarget)
  }

  public static func remap(_ d: FrequencyMatrix, config: MappingConfig) -> (sources: [[Int]], omega: [Float]) {
    NoRemap.remap(d)
  }

  /// `semantic`, with `(m=…)` only when m > 1.
  public static func label(_ config: MappingConfig) -> String {
    config.sourcesPerTarget > 1 ? "semantic(m=\(config.sourcesPerTarget))" : "semantic"
  }
}
