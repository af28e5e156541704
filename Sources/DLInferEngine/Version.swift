/// The library version. The C header's DLINFER_VERSION_* macros must match (Tests/c checks that they do).
public enum Version {
    public static let string: StaticString = "1.0.0"
}
