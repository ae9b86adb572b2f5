/// Seeded, stratified train / validation / test index sets over a labelled data set.
///
/// The rule, for a training file whose labels are `labels` (and `classCount` classes):
///
/// 1. For each class `c` in `0 ..< classCount`, `I_c` lists the indices `i` with
///    `labels[i] == c`, ascending (file order).
/// 2. Without a seed `I_c` stays in file order. With `seed`, `I_c` is shuffled by Fisher–Yates
///    driven by `SplitMix64(seed: seed ^ SplitMix64.mix(UInt64(c) + 1))`: for `i` from
///    `I_c.count - 1` down to 1, `j = Int(next() % UInt64(i + 1))`, swap `I_c[i]` and `I_c[j]`.
///    Each class has its own generator, so a class's selection does not depend on the others.
/// 3. `I_c` is cut in order: the first `perClass` indices go to `train` (all but the `val` and
///    held-out ones when `perClass` is nil), the next `val` to `val`, and with
///    ``TestSelection/heldOut(perClass:)`` the next `n` to `test`. A class too small for its share
///    is an error.
/// 4. `train`, `val` and `test` are each sorted ascending.
///
/// With ``TestSelection/separateFile(count:)`` `test` is `0 ..< count`, indices into the separate
/// test file (its first `count` images). Same inputs and seed give the same indices on every
/// platform.
public struct Split: Sendable, Equatable {
  /// Where the test images come from.
  public enum TestSelection: Sendable, Equatable {
    /// No test set.
    case none
    /// The first `count` images of a separate test file.
    case separateFile(count: Int)
    /// `perClass` images of each class held out of the training file, after train and val.
    case heldOut(perClass: Int)
  }

  /// Indices into the training file.
  public var train: [Int]
  /// Indices into the training file, disjoint from ``train``.
  public var val: [Int]
  /// Indices into the test file (``TestSelection/separateFile(count:)``) or into the training
  /// file (``TestSelection/heldOut(perClass:)``, disjoint from train and val).
  public var test: [Int]
  /// How ``test`` was chosen.
  public var testSelection: TestSelection

  /// Computes the split by the rule above.
  ///
  /// - Parameters:
  ///   - labels: class index per image of the training file.
  ///   - classCount: number of classes; every label must be in `0 ..< classCount`.
  ///   - perClass: training images per class, or nil for all that remain.
  ///   - val: validation images per class.
  ///   - test: the test selection.
  ///   - seed: nil keeps file order; otherwise the per-class SplitMix64 shuffle.
  public init(
    labels: [Int], classCount: Int, perClass: Int?, val: Int = 0, test: TestSelection = .none,
    seed: UInt64? = nil
  ) throws(SplitError) {
    guard val >= 0, (perClass ?? 0) >= 0 else { throw SplitError("negative per-class count") }
    var byClass = [[Int]](repeating: [], count: classCount)
    for (index, label) in labels.enumerated() {
      guard label >= 0 && label < classCount else {
        throw SplitError("label \(label) of image \(index) is outside 0..<\(classCount)")
      }
      byClass[label].append(index)
    }
    let heldOut: Int
    switch test {
    case .heldOut(let n):
      guard n >= 0 else { throw SplitError("negative held-out count") }
      heldOut = n
    case .separateFile(let n):
      guard n >= 0 else { throw SplitError("negative test count") }
      heldOut = 0
    case .none:
      heldOut = 0
    }
    var train = [Int]()
    var validation = [Int]()
    var testIndices = [Int]()
    for c in 0..<classCount {
      var indices = byClass[c]
      if let seed {
        var generator = SplitMix64(seed: seed ^ SplitMix64.mix(UInt64(c) + 1))
        var i = indices.count - 1
        while i > 0 {
          let j = Int(generator.next() % UInt64(i + 1))
          indices.swapAt(i, j)
          i -= 1
        }
      }
      let trainCount = perClass ?? (indices.count - val - heldOut)
      let needed = trainCount + val + heldOut
      guard trainCount >= 0, needed <= indices.count else {
        throw SplitError(
          "class \(c) has \(indices.count) images, the split needs \(perClass.map(String.init) ?? "the rest") train + \(val) val + \(heldOut) held-out test"
        )
      }
      train += indices[0..<trainCount]
      validation += indices[trainCount..<trainCount + val]
      testIndices += indices[trainCount + val..<needed]
    }
    if case .separateFile(let n) = test { testIndices = Array(0..<n) }
    self.train = train.sorted()
    self.val = validation.sorted()
    self.test = testIndices.sorted()
    self.testSelection = test
  }

  /// The three sets as data: train and val from `trainingFile`; test from `testFile` for
  /// ``TestSelection/separateFile(count:)`` (which must have at least `count` images) or from
  /// `trainingFile` for ``TestSelection/heldOut(perClass:)``, empty for ``TestSelection/none``.
  public func apply(trainingFile: LabeledImages, testFile: LabeledImages? = nil) throws(SplitError)
    -> SplitData
  {
    guard (train + val).allSatisfy({ $0 < trainingFile.count }) else {
      throw SplitError(
        "split indices exceed the \(trainingFile.count) images of \(trainingFile.name)")
    }
    let testData: LabeledImages
    switch testSelection {
    case .separateFile(let n):
      guard let testFile else {
        throw SplitError("the split takes its test set from a separate file; none given")
      }
      guard n <= testFile.count else {
        throw SplitError(
          "the split wants the first \(n) test images, \(testFile.name) has \(testFile.count)")
      }
      testData = testFile.subset(test, name: testFile.name)
    case .heldOut:
      testData = trainingFile.subset(test, name: trainingFile.name + "/test")
    case .none:
      testData = trainingFile.subset([], name: trainingFile.name + "/test")
    }
    return SplitData(
      train: trainingFile.subset(train, name: trainingFile.name + "/train"),
      val: trainingFile.subset(val, name: trainingFile.name + "/val"),
      test: testData)
  }
}

/// The data of a ``Split``.
public struct SplitData: Sendable, Equatable {
  /// Training images.
  public var train: LabeledImages
  /// Validation images.
  public var val: LabeledImages
  /// Test images.
  public var test: LabeledImages
}

/// A split that cannot be made (a class too small, labels out of range, a missing test file).
public struct SplitError: Error, Sendable, Equatable, CustomStringConvertible {
  /// What is wrong.
  public var message: String

  /// An error with `message`.
  public init(_ message: String) {
    self.message = message
  }

  /// `split: MESSAGE`.
  public var description: String { "split: \(message)" }
}
