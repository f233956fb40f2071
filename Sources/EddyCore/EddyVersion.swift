/// The version of this Eddy build, printed by `eddy --version`.
public enum EddyVersion {
    public static let current = "0.1.0"
}
