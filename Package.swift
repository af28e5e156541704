// swift-tools-version:6.1
import PackageDescription

// Dead-strippable objects: Swift marks every public symbol "used", which on ELF puts it in a section the linker must
// retain (SHF_GNU_RETAIN), so --gc-sections could drop none of them. The library exports only the C API and the CLI and
// tests link these modules statically, so public symbols need not survive a link that does not reference them; with
// one section per function, the linker's --gc-sections (SwiftPM passes it in release builds) removes the dead ones.
// The library's modules are also compiled without the implicit import of _StringProcessing and _Concurrency: a Regex,
// a string's contains(_:) or an async API would link those runtimes (1.4 MB and 0.5 MB) into the library.
let strippable = ["-Xfrontend", "-internalize-at-link", "-Xfrontend", "-function-sections",
                  "-Xfrontend", "-disable-implicit-string-processing-module-import",
                  "-Xfrontend", "-disable-implicit-concurrency-module-import"]
let cStrippable = ["-ffunction-sections", "-fdata-sections"]
// Hot numeric code is compiled without bounds/overflow checks; everything that touches user input validates first.
let fast: [SwiftSetting] = [.unsafeFlags(["-Ounchecked"] + strippable)]
let lean: [SwiftSetting] = [.unsafeFlags(strippable)]

let package = Package(
    name: "dlinfer",
    products: [
        // MARK: public API
        .library(name: "dlinfer", type: .dynamic, targets: ["DLInfer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-protobuf", exact: "1.39.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
    ],
    targets: [
        // MARK: the stable C ABI (header only)
        .target(name: "CDLInfer", path: "include", publicHeadersPath: "."),
        // MARK: implementation
        .target(name: "DLInferCore", swiftSettings: fast),
        // Reads ONNX's protobuf itself (Proto/): neither SwiftProtobuf nor Foundation is linked into the library.
        .target(name: "DLInferONNX", dependencies: ["DLInferCore"], swiftSettings: lean),
        // SGEMM micro-kernels for several instruction sets, chosen at run time (cpuid); optimised in debug builds too.
        .target(name: "CDLInferKernels", cSettings: [.unsafeFlags(["-O3"] + cStrippable)]),
        .target(name: "DLInferCPU", dependencies: ["DLInferCore", "CDLInferKernels"], swiftSettings: fast),
        // OpenCL is opened with dlopen on first use: no link-time dependency on libOpenCL.
        .target(name: "COpenCL", cSettings: [.unsafeFlags(cStrippable)], linkerSettings: [.linkedLibrary("dl")]),
        // Testable in release builds too: the kernel tests force each GEMM path and tiling directly (launch code only;
        // the kernels themselves are OpenCL C).
        .target(name: "DLInferOpenCL", dependencies: ["DLInferCore", "COpenCL"], swiftSettings: [.unsafeFlags(["-enable-testing"] + strippable)]),
        .target(name: "DLInferEngine", dependencies: ["DLInferCore", "DLInferONNX", "DLInferCPU", "DLInferOpenCL"],
                swiftSettings: lean),
        .target(
            name: "DLInfer", dependencies: ["CDLInfer", "DLInferEngine"], swiftSettings: lean,
            linkerSettings: [.unsafeFlags([
                "-static-stdlib",
                // gold leaves hidden Swift symbols in .dynsym (nm -D lists them); bfd keeps it to the exported C API, and unlike
                // lld it resolves archives in command-line order, so full Foundation is never pulled in.
                "-use-ld=bfd",
                "-Xlinker", "--version-script=\(Context.packageDirectory)/include/dlinfer.map",
                "-Xlinker", "-soname=libdlinfer.so.1",
                // Not -z pack-relative-relocs: its DT_RELR table (1.1 MB less) needs glibc 2.36 to load, which would
                // shut out hosts such as Ubuntu 22.04.
            ])]),
        .executableTarget(name: "dlinfer-cli", dependencies: [
            "DLInferEngine", "DLInferONNX", .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], linkerSettings: [.unsafeFlags([
            "-static-stdlib", "-lFoundationEssentials", "-l_FoundationCShims", "-l_FoundationCollections",
        ])]),
        // MARK: tests
        // The tests build models with onnx.proto's generated types (Tests/DLInferTests/Proto) and SwiftProtobuf.
        .testTarget(name: "DLInferTests", dependencies: [
            "DLInferEngine", "DLInferCore", "DLInferONNX", "DLInferCPU", "DLInferOpenCL",
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ]),
    ],
    // Swift 5 mode: kernels share raw buffers across threads by design; data-race checking is done by review and tests.
    swiftLanguageModes: [.v5]
)
