import Foundation
import VPData
import VPEngine
@_exported import VPTestSupport
import XCTest

extension TestAssets {
  /// Fails (or skips with `VPBOOK_ALLOW_MISSING_ASSETS=1`) when Fashion-MNIST is not where `DataCatalog` looks.
  static func requireFashionMNIST() throws {
    let dir = ProcessInfo.processInfo.environment["VPBOOK_FASHION_MNIST"] ?? "/usr/share/datasets/fashion-mnist"
    if !FileManager.default.fileExists(atPath: dir + "/train-images-idx3-ubyte.gz") {
      try missing("Fashion-MNIST in \(dir) (set VPBOOK_FASHION_MNIST)")
    }
  }
}

/// A fixture file shipped with the tests (`Fixtures/NAME.EXT`).
func fixtureURL(_ name: String, _ ext: String) throws -> URL {
  guard let url = Bundle.module.url(forResource: name, withExtension: ext, subdirectory: "Fixtures") else {
    throw TestAssets.Missing(description: "fixture Fixtures/\(name).\(ext) not in the test bundle")
  }
  return url
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
    z.withUnsafeBufferPointer { sourceGradient(g, sourceLogits: $0.baseAddress!, rows: rows) }
  }
}

extension FrequencyMatrix {
  mutating func add(_ logits: [Float], target: Int, topK: Int = 0) {
    logits.withUnsafeBufferPointer { add(logits: $0.baseAddress!, target: target, topK: topK) }
  }
}
