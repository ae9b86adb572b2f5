import Foundation
import VPTensor
import VPTestSupport

/// The cases of `Fixtures/kernels.json`, written by `Reference/make_kernel_fixtures.py` (numpy, float64).
/// Tensors there are in PyTorch's conventions (NCHW activations, OIHW weights).
struct KernelCase: Decodable {
  struct Stored: Decodable {
    var shape: [Int]
    var data: [Float]
    var tensor: Tensor { Tensor(shape: shape, data: data) }
  }
  var name: String
  var op: String
  var params: [String: ParamValue]
  var inputs: [String: Stored]
  var outputs: [String: Stored]

  enum ParamValue: Decodable {
    case int(Int), double(Double), bool(Bool), ints([Int]), string(String)
    init(from decoder: Decoder) throws {
      let c = try decoder.singleValueContainer()
      if let v = try? c.decode(Bool.self) {
        self = .bool(v)
      } else if let v = try? c.decode(Int.self) {
        self = .int(v)
      } else if let v = try? c.decode(Double.self) {
        self = .double(v)
      } else if let v = try? c.decode([Int].self) {
        self = .ints(v)
      } else {
        self = .string(try c.decode(String.self))
      }
    }
    var int: Int? { if case .int(let v) = self { return v } else { return nil } }
    var double: Double? {
      switch self {
      case .double(let v): return v
      case .int(let v): return Double(v)
      default: return nil
      }
    }
    var ints: [Int]? { if case .ints(let v) = self { return v } else { return nil } }
    var bool: Bool? { if case .bool(let v) = self { return v } else { return nil } }
  }

  /// An NCHW input converted to channels-last.
  func nhwc(_ key: String) -> Tensor { inputs[key]!.tensor.nchwToNHWC() }
  /// An NCHW output converted to channels-last.
  func expectedNHWC(_ key: String) -> Tensor { outputs[key]!.tensor.nchwToNHWC() }

  static let all: [KernelCase] = {
    struct File: Decodable { var cases: [KernelCase] }
    return try! loadFixture("kernels", as: File.self, in: .module).cases
  }()

  static func cases(_ op: String) -> [KernelCase] { all.filter { $0.op == op } }
}
