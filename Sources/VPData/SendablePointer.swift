/// A raw pointer handed to `DispatchQueue.concurrentPerform` workers, whose closure is
/// `@Sendable`. Safe only because every worker touches a disjoint range and the buffer outlives
/// the (synchronous) `concurrentPerform` call.
struct SendablePointer<Element>: @unchecked Sendable {
  let base: UnsafeMutablePointer<Element>

  init(_ buffer: UnsafeMutableBufferPointer<Element>) {
    base = buffer.baseAddress!
  }

  init(_ buffer: UnsafeBufferPointer<Element>) {
    base = UnsafeMutablePointer(mutating: buffer.baseAddress!)
  }
}
