/// What the forward pass keeps for the backward pass: a stack, since layers are undone in reverse order.
///
/// A frozen convolutional model needs no activations to propagate a gradient to its input, only which units
/// were in the linear range of their activation (one byte each), the winning position of a max-pooling
/// window, and the input size (a strided layer cannot infer it from its output). Layers whose derivative is
/// not piecewise constant (layer norm, attention, GELU) keep floats instead, in `floats`.
public final class Tape {
  /// One layer's record.
  public struct Entry {
    /// One byte per output element (`nil` for layers without a non-linearity).
    public var bytes: UnsafeMutablePointer<UInt8>?
    public var count: Int
    public var inputH: Int
    public var inputW: Int
    /// Floats kept for the backward pass (a workspace buffer of `floatCount` elements), or nil.
    public var floats: UnsafeMutablePointer<Float>? = nil
    public var floatCount = 0
    public init(bytes: UnsafeMutablePointer<UInt8>?, count: Int, inputH: Int, inputW: Int) {
      self.bytes = bytes
      self.count = count
      self.inputH = inputH
      self.inputW = inputW
    }
    /// A record holding `floatCount` floats (no bytes).
    public init(floats: UnsafeMutablePointer<Float>?, floatCount: Int, inputH: Int, inputW: Int) {
      self.init(bytes: nil, count: 0, inputH: inputH, inputW: inputW)
      self.floats = floats
      self.floatCount = floatCount
    }
  }
  private var entries: [Entry] = []
  public init() {}

  public func push(_ entry: Entry) { entries.append(entry) }
  public func pop() -> Entry {
    guard let e = entries.popLast() else { fatalError("tape underflow: backward called more often than forward") }
    return e
  }
  public var isEmpty: Bool { entries.isEmpty }
}
