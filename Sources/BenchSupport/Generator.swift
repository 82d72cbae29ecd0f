// Delivery-row generator for benchmarks (work in progress).
public enum BenchSupportVersion { public static let id = "0" }
