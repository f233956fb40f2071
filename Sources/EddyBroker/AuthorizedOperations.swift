/// The operations a client may perform on a resource, as Metadata, DescribeCluster and
/// DescribeGroups report them when asked (KIP-430): a bit field of Kafka's `AclOperation` codes
/// (READ 3, WRITE 4, CREATE 5, DELETE 6, ALTER 7, DESCRIBE 8, CLUSTER_ACTION 9, DESCRIBE_CONFIGS 10,
/// ALTER_CONFIGS 11, IDEMPOTENT_WRITE 12). Eddy has no authorizer, so, as Kafka does without one,
/// every operation the resource type supports is allowed.
enum AuthorizedOperations {
    private static func field(_ codes: [Int32]) -> Int32 { codes.reduce(0) { $0 | (1 << $1) } }

    /// READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS.
    static let topic = field([3, 4, 5, 6, 7, 8, 10, 11])
    /// READ, DELETE, DESCRIBE.
    static let group = field([3, 6, 8])
    /// CREATE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE.
    static let cluster = field([5, 7, 8, 9, 10, 11, 12])
}
