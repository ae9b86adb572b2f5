import VPData

/// AutoVP's SemanticMap: each target takes its most similar source classes by name, round-robin, m per target;
/// fixed. The similarity is the cosine of CLIP text embeddings of "This is a photo of a {name}." (`text=clip`,
/// AutoVP's choice; any source model whose source classes have names, given a CLIP text tower) or WordNet's
/// Wu–Palmer similarity (`text=wordnet`, the default: ImageNet-1k models only, no CLIP needed).
public enum SemanticMap: MappingPolicy {
  public static let summary =
    "AutoVP's SemanticMap: the most similar class names (WordNet, or CLIP's text tower with text=clip), m per target, fixed"
  public static let options: [MappingOption] = [.m, .text]
  public static let form = MappingForm.sourceAverage
  public static let schedule = RemapSchedule.never
  public static let needs: [MappingNeed] = [.sourceSynsets, .textEmbeddings]

  public static func initialSources(
    _ config: MappingConfig, sources: Int, targets: Int, rng: inout SplitMix64, context: MappingContext
  ) throws -> [[Int]] {
    let similarity: [Double]
    if config.text == .clip {
      guard let embed = context.embedTexts else {
        throw EngineError(
          "mapping: semantic text=clip needs CLIP's text tower: model clip weights=PATH, or text_encoder=PATH (a CLIP "
            + "checkpoint) on the model statement (vpbook train: --text-encoder PATH)")
      }
      guard let names = context.sourceNames, names.count == sources else {
        throw EngineError("mapping: semantic text=clip needs the names of the model's \(sources) source classes")
      }
      similarity = try SemanticSimilarity.textMatrix(targetNames: context.targetNames, sourceNames: names, embed: embed)
    } else {
      let synsets = try context.sourceSynsets()
      guard synsets.count == sources else {
        throw EngineError("mapping: semantic needs the source classes' WordNet synsets (ImageNet-1k models only)")
      }
      similarity = SemanticSimilarity.matrix(
        targetNames: context.targetNames, imageNetSynsets: synsets, wordNet: try WordNet())
    }
    return SemanticSimilarity.roundRobin(similarity, sources: sources, targets: targets, m: config.sourcesPerTarget)
  }

  public static func remap(_ d: FrequencyMatrix, config: MappingConfig) -> (sources: [[Int]], omega: [Float]) {
    NoRemap.remap(d)
  }

  /// `semantic`, with `(m=…)` only when m > 1, and `/clip` for CLIP's similarity.
  public static func label(_ config: MappingConfig) -> String {
    (config.sourcesPerTarget > 1 ? "semantic(m=\(config.sourcesPerTarget))" : "semantic")
      + (config.text == .clip ? "/clip" : "")
  }
}
