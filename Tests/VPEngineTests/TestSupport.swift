import Foundation
import VPData
import VPEngine
import VPModels
@_exported import VPTestSupport
import XCTest

extension TestAssets {
  /// Fails (or skips with `VPBOOK_ALLOW_MISSING_ASSETS=1`) when Fashion-MNIST is not where `DataCatalog` looks.
  static func requireFashionMNIST() throws { _ = try fashionMNISTDirectory() }
}

/// MobileNetV2 with its installed weights on the first `perClass` / `validation` images per class of
/// Fashion-MNIST's training file and its first `test` test images, at `side` px (a real, small training setup).
func smallFashionExperiment(perClass: Int, validation: Int, test: Int, side: Int = 16) throws -> Experiment {
  try TestAssets.requireFashionMNIST()
  _ = try TestAssets.path("models/mobilenet_v2-b0353104.pth")
  let model = try ModelZoo.load(.mobilenetV2)
  let data = try DataCatalog.prepare(
    DataSpec(name: "fashion-mnist", perClass: perClass, validationPerClass: validation, test: test), side: side)
  return try Experiment(model: model, train: data.train, validation: data.validation, test: data.test)
}

/// A fixture file of this target (`VPTestSupport.fixtureURL` with this target's bundle).
func fixtureURL(_ name: String, _ ext: String) throws -> URL {
  try VPTestSupport.fixtureURL(name, ext, in: .module)
}

/// Decodes a JSON fixture of this target (`VPTestSupport.loadFixture` with this target's bundle).
func loadFixture<T: Decodable>(_ name: String, as type: T.Type) throws -> T {
  try VPTestSupport.loadFixture(name, as: type, in: .module)
}

/// Uniform floats in `[lo, hi)` from a seeded generator.
func uniform(_ count: Int, _ rng: inout SplitMix64, _ lo: Float = -1, _ hi: Float = 1) -> [Float] {
  (0..<count).map { _ in lo + (hi - lo) * Float(rng.next() >> 40) / Float(1 << 24) }
}

/// `Σ a ⊙ b` accumulated in Double.
func dot(_ a: [Float], _ b: [Float]) -> Double {
  precondition(a.count == b.count)
  var s = 0.0
  for i in 0..<a.count { s += Double(a[i]) * Double(b[i]) }
  return s
}

/// A frequency matrix from rows of counts (`rows[s][t]`).
func matrix(_ rows: [[Double]]) -> FrequencyMatrix {
  FrequencyMatrix(sources: rows.count, targets: rows[0].count, counts: rows.flatMap { $0 })
}

extension LabelMapping {
  func targetLogits(_ z: [Float], rows: Int) -> [Float] {
    z.withUnsafeBufferPointer { targetLogits($0.baseAddress!, rows: rows) }
  }

  func sourceGradient(_ g: [Float], z: [Float], rows: Int) -> (source: [Float], weight: [Float]?, bias: [Float]?) {
    let grads = z.withUnsafeBufferPointer { sourceGradient(g, sourceLogits: $0.baseAddress!, rows: rows) }
    return (grads.source, grads.parameters["mapping.weight"], grads.parameters["mapping.bias"])
  }
}

extension FrequencyMatrix {
  mutating func add(_ logits: [Float], target: Int, topK: Int = 0) {
    logits.withUnsafeBufferPointer { add(logits: $0.baseAddress!, target: target, topK: topK) }
  }
}
