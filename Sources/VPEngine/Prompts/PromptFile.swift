import Foundation
import VPCheckpoint
import VPModels

/// A learned prompt saved as `.safetensors` (`vpbook train --save-prompt`): every tensor of the family by name
/// (`prompt.delta` `[S, S, 3]` channels-last; `prompt.B`/`prompt.A`; SMM's `prompt.delta` and its mask network's
/// `prompt.mask.*` weights and running statistics), and the prompt's geometry as metadata (`kind`, `canvas`,
/// `image`, `rank`, `frame`, `scale`).
public enum PromptFile {
  public static func write(_ prompt: any InputPrompt, to path: String) throws {
    var tensors: [(String, CheckpointTensor)] = []
    for saved in prompt.savedTensors {
      guard let tensor = CheckpointTensor(shape: saved.shape, floats: saved.values) else {
        throw EngineError("prompt file: tensor \(saved.name) does not fit its shape \(saved.shape)")
      }
      tensors.append((saved.name, tensor))
    }
    let config = prompt.config
    var metadata = [
      "kind": config.kind.rawValue, "canvas": "\(config.canvas)", "image": "\(config.imageSide)", "layout": "HWC",
    ]
    if let rank = config.rank { metadata["rank"] = "\(rank)" }
    if let frame = config.frame { metadata["frame"] = "\(frame)" }
    if config.learnableScale { metadata["scale"] = "learn" }
    try Safetensors.write(
      StateDict(tensors, path: path, format: .safetensors, metadata: [:]), metadata: metadata, to: path)
  }

  /// Reads a prompt written by `write`: its geometry from the metadata, every tensor checked by name and shape
  /// (an error names the file and the tensor).
  public static func read(_ path: String, normalization: InputNormalization) throws -> any InputPrompt {
    let dict = try Safetensors.read(path)
    let meta = dict.metadata
    func int(_ key: String) throws -> Int? {
      guard let text = meta[key] else { return nil }
      guard let value = Int(text) else { throw EngineError("\(path): metadata \(key) is not a number: \(text)") }
      return value
    }
    guard let kindText = meta["kind"], let kind = PromptKind(rawValue: kindText) else {
      throw EngineError("\(path): not a vpbook prompt (metadata kind is \(meta["kind"] ?? "missing"))")
    }
    guard let canvas = try int("canvas"), let image = try int("image") else {
      throw EngineError("\(path): not a vpbook prompt (metadata canvas or image missing)")
    }
    let config = PromptConfig(
      kind: kind, canvas: canvas, image: image, frame: try int("frame"), learnableScale: meta["scale"] == "learn",
      rank: try int("rank"))
    do {
      try config.validate()
    } catch {
      throw EngineError("\(path): \(error)")
    }
    let prompt = config.makePrompt(normalization: normalization, seed: 0)
    var values: [Float] = []
    for expected in prompt.savedTensors {
      guard let tensor = dict.first(where: { $0.name == expected.name })?.tensor else {
        throw EngineError("\(path): tensor \(expected.name) is missing")
      }
      guard tensor.shape == expected.shape else {
        throw EngineError("\(path): tensor \(expected.name) has shape \(tensor.shape), expected \(expected.shape)")
      }
      let floats = try tensor.floats()
      if expected.name == "prompt.scale" {
        prompt.scale = floats[0]
      } else {
        values += floats
      }
    }
    let known = Set(prompt.savedTensors.map(\.name))
    if let extra = dict.map(\.name).first(where: { !known.contains($0) }) {
      throw EngineError("\(path): tensor \(extra) is not part of a \(kind.rawValue) prompt")
    }
    prompt.values = values
    return prompt
  }
}
