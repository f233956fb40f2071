// eddy-wire-gen: turns Kafka's official message schemas into Eddy's codecs.
//
//   condense MESSAGES_DIR SPEC.json   derive the project's condensed spec from the official schemas
//                                     (only the messages Eddy serves; comments and prose dropped)
//   generate SPEC.json SRC_DIR TEST_DIR   write the Swift codecs and the test samples from the spec
//
// Hand-written: no maintained Swift generator exists for Kafka's schema format.
import Foundation

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("eddy-wire-gen: \(message)\n".utf8))
    exit(1)
}

let args = CommandLine.arguments
switch args.count > 1 ? args[1] : "" {
case "condense" where args.count == 4:
    Condenser.run(messagesDirectory: args[2], output: args[3])
case "generate" where args.count == 5:
    let messages = Spec.load(path: args[2])
    Generator.run(messages: messages, sourceDirectory: args[3], testDirectory: args[4])
default:
    fail("usage: eddy-wire-gen condense MESSAGES_DIR SPEC.json | generate SPEC.json SRC_DIR TEST_DIR")
}
