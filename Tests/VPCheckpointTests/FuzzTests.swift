import Foundation
import VPCheckpoint
import XCTest

/// Truncations and byte flips at seeded positions: each case must throw a `CheckpointError` naming the
/// file, or load (and then decode) cleanly. A trap or hang would fail the whole test run.
final class FuzzTests: XCTestCase {
  private struct Outcome {
    var loaded = 0
    var failed = 0
  }

  private func attempt(
    _ bytes: [UInt8], path: String, outcome: inout Outcome, file: StaticString = #filePath, line: UInt = #line
  ) {
    do {
      let dict = try loadCheckpoint(bytes: bytes, path: path)
      for (_, tensor) in dict {
        _ = try tensor.floats()
      }
      outcome.loaded += 1
    } catch let error as CheckpointError {
      XCTAssertTrue(error.description.hasPrefix(path + ": "), "\(error)", file: file, line: line)
      outcome.failed += 1
    } catch {
      XCTFail("unexpected error type: \(error)", file: file, line: line)
    }
  }

  /// 50 truncations and 50 single-byte flips; `hot` is a byte range where half of the positions fall
  /// (the pickles, or the zip directory) so that the parsers, not just tensor data, get exercised.
  private func fuzz(_ bytes: [UInt8], path: String, seed: UInt64, hot: Range<Int>) -> Outcome {
    var generator = SeededGenerator(state: seed)
    var outcome = Outcome()
    for i in 0..<50 {
      let length =
        i % 2 == 0
        ? Int.random(in: hot, using: &generator) : Int.random(in: 0..<bytes.count, using: &generator)
      attempt(Array(bytes[..<length]), path: path, outcome: &outcome)
    }
    for i in 0..<50 {
      let position =
        i % 2 == 0
        ? Int.random(in: hot, using: &generator) : Int.random(in: 0..<bytes.count, using: &generator)
      var mutated = bytes
      mutated[position] ^= UInt8.random(in: 1...255, using: &generator)
      attempt(mutated, path: path, outcome: &outcome)
    }
    XCTAssertEqual(outcome.loaded + outcome.failed, 100)
    print("fuzz \(path): \(outcome.failed) rejected, \(outcome.loaded) loaded")
    return outcome
  }

  func testLegacyMobileNet() throws {
    let bytes = try Checkpoints.bytes("mobilenet_v2-b0353104.pth")
    let outcome = fuzz(bytes, path: "mobilenet_v2-b0353104.pth", seed: 1, hot: 0..<40_000)
    XCTAssertGreaterThan(outcome.failed, 50)
  }

  func testZipResNet18() throws {
    let bytes = try Checkpoints.bytes("resnet18-random-10class.pth")
    // Half of the positions in the central directory and end records at the end of the file.
    let outcome = fuzz(
      bytes, path: "resnet18-random-10class.pth", seed: 2, hot: (bytes.count - 16_000)..<bytes.count)
    XCTAssertGreaterThan(outcome.failed, 50)
  }

  func testSafetensors() throws {
    let source = StateDict([
      ("a", try XCTUnwrap(CheckpointTensor(shape: [3, 4], floats: (0..<12).map(Float.init)))),
      ("b", try XCTUnwrap(CheckpointTensor(shape: [2], int64s: [1, 2]))),
    ])
    let bytes = try Safetensors.encode(source, metadata: ["k": "v"])
    _ = fuzz(bytes, path: "fuzz.safetensors", seed: 3, hot: 0..<min(bytes.count, 200))
  }

  /// Small hand-made files, exhaustively truncated and flipped many times.
  func testSyntheticFilesExhaustively() throws {
    let legacy = LegacyBuilder.file(
      statePickle: PickleBuilder.stateDict(SyntheticCheckpointTests.specs, legacy: true),
      storages: SyntheticCheckpointTests.storages)
    let zip = ZipBuilder.torchFile(
      statePickle: PickleBuilder.stateDict(SyntheticCheckpointTests.specs, legacy: false),
      storages: SyntheticCheckpointTests.storages.map { ($0.key, $0.data) }, deflate: ["0"])
    var generator = SeededGenerator(state: 4)
    for (bytes, path) in [(legacy, "synthetic.pth"), (zip, "synthetic.pt")] {
      var outcome = Outcome()
      for length in 0..<bytes.count { attempt(Array(bytes[..<length]), path: path, outcome: &outcome) }
      XCTAssertEqual(outcome.loaded, 0, "a strict prefix of \(path) loaded")
      for _ in 0..<1000 {
        var mutated = bytes
        for _ in 0..<Int.random(in: 1...3, using: &generator) {
          mutated[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(
            in: 0...255, using: &generator)
        }
        attempt(mutated, path: path, outcome: &outcome)
      }
      print("fuzz \(path): \(outcome.failed) rejected, \(outcome.loaded) loaded")
    }
  }
}
