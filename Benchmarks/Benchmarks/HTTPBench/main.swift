import Foundation

// MARK: Main

let arguments = CommandLine.arguments
guard arguments.count >= 2 else { fail("usage: see the comment at the top of main.swift") }
switch arguments[1] {
case "serve" where arguments.count == 5:
    guard let port = Int(arguments[3]) else { fail("port") }
    try await serve(mode: arguments[2], port: port, dir: arguments[4])
case "gen" where arguments.count == 7:
    guard let count = Int(arguments[3]), let port = Int(arguments[4]) else { fail("count, port") }
    try await generate(kind: arguments[2], count: count, port: port, dir: arguments[5], file: arguments[6])
case "raw" where arguments.count == 3:
    print(String(format: "%.2f", raw(seconds: Double(arguments[2]) ?? 2)))
case "raw-sign" where arguments.count == 3:
    print(String(format: "%.2f", raw(seconds: Double(arguments[2]) ?? 2, sign: true)))
default:
    fail("usage: see the comment at the top of main.swift")
}
