/// The element type of a stored tensor.
public enum DType: String, Sendable, CaseIterable, CustomStringConvertible {
  /// IEEE binary32 (`torch.float32`, safetensors `F32`).
  case float32
  /// IEEE binary64 (`torch.float64`, `F64`).
  case float64
  /// IEEE binary16 (`torch.float16`, `F16`).
  case float16
  /// bfloat16 (`torch.bfloat16`, `BF16`).
  case bfloat16
  /// Signed 64-bit integer (`torch.int64`, `I64`).
  case int64
  /// Signed 32-bit integer (`torch.int32`, `I32`).
  case int32
  /// Signed 16-bit integer (`torch.int16`, `I16`).
  case int16
  /// Signed 8-bit integer (`torch.int8`, `I8`).
  case int8
  /// Unsigned 8-bit integer (`torch.uint8`, `U8`).
  case uint8
  /// Boolean stored as one byte (`torch.bool`, `BOOL`).
  case bool

  /// Bytes per element.
  public var byteSize: Int {
    switch self {
    case .float64, .int64: return 8
    case .float32, .int32: return 4
    case .float16, .bfloat16, .int16: return 2
    case .int8, .uint8, .bool: return 1
    }
  }

  /// Whether the type is a floating-point type.
  public var isFloatingPoint: Bool {
    switch self {
    case .float32, .float64, .float16, .bfloat16: return true
    default: return false
    }
  }

  /// The Swift-style name (`"float32"`).
  public var description: String { rawValue }

  /// The dtype of a legacy torch storage class name (`"FloatStorage"`), if supported.
  init?(torchStorageName name: String) {
    switch name {
    case "FloatStorage": self = .float32
    case "DoubleStorage": self = .float64
    case "HalfStorage": self = .float16
    case "BFloat16Storage": self = .bfloat16
    case "LongStorage": self = .int64
    case "IntStorage": self = .int32
    case "ShortStorage": self = .int16
    case "CharStorage": self = .int8
    case "ByteStorage", "UntypedStorage": self = .uint8
    case "BoolStorage": self = .bool
    default: return nil
    }
  }

  /// The safetensors dtype code (`"F32"`).
  public var safetensorsCode: String {
    switch self {
    case .float32: return "F32"
    case .float64: return "F64"
    case .float16: return "F16"
    case .bfloat16: return "BF16"
    case .int64: return "I64"
    case .int32: return "I32"
    case .int16: return "I16"
    case .int8: return "I8"
    case .uint8: return "U8"
    case .bool: return "BOOL"
    }
  }

  /// The dtype of a safetensors dtype code, if supported.
  init?(safetensorsCode code: String) {
    guard let match = DType.allCases.first(where: { $0.safetensorsCode == code }) else { return nil }
    self = match
  }
}
