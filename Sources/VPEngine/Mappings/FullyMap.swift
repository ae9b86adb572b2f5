import VPData

/// AutoVP's FullyMap: a trainable linear layer from the source logits to the targets, trained with the prompt
/// (its learning rate: `mapping_lr`, default the prompt's).
public enum FullyMap: MappingPolicy {
  public static let summary = "AutoVP's trainable linear layer from all source logits"
  public static let options: [MappingOption] = [.mappingLR]
  public static let form = MappingForm.linear
  public static let schedule = RemapSchedule.never

  /// No source lists: the layer is the map.
  public static func initialSources(
    _ config: MappingConfig, sources: Int, targets: Int, rng: inout SplitMix64, context: MappingContext
  ) throws -> [[Int]] {
    []
  }

  public static func remap(_ d: FrequencyMatrix, config: MappingConfig) -> (sources: [[Int]], omega: [Float]) {
    NoRemap.remap(d)
  }
}
