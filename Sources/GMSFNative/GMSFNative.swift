// GMSF native baseline (work in progress).
public enum GMSFNativeVersion { public static let id = "0" }
