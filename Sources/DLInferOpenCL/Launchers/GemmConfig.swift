import DLInferCore
#if canImport(Glibc)
import Glibc
#endif

/// Compile-time parameters of the tiled kernel in kernels/gemm.cl (its header explains each), in row-major terms:
/// C is M x N with N contiguous, a work-group computes an `mwg` x `nwg` tile with `mdimc` x `ndimc` work-items.
/// CLBlast's Xgemm parameters describe the column-major product, so its M is our N: its MWG/MDIMC/VWM are our
/// NWG/NDIMC/VWN and the other way round.
struct GemmTiling: Hashable, CustomStringConvertible {
    var mwg: Int, nwg: Int, kwg: Int
    var mdimc: Int, ndimc: Int
    var vwm: Int, vwn: Int, vwk = 4
    var strm = false, strn = false
    var kwi = 2
    /// Leave out reqd_work_group_size (Qualcomm's compiler generates slower code with it).
    var relaxWorkGroup = false

    var workGroupSize: Int { mdimc * ndimc }
    var localBytes: Int { kwg * (mwg + nwg) * 4 }

    var defines: String {
        "-DMWG=\(mwg) -DNWG=\(nwg) -DKWG=\(kwg) -DMDIMC=\(mdimc) -DNDIMC=\(ndimc) -DVWM=\(vwm) -DVWN=\(vwn) -DVWK=\(vwk) "
            + "-DSTRM=\(strm ? 1 : 0) -DSTRN=\(strn ? 1 : 0) -DKWI=\(kwi) -DRELAX_WG=\(relaxWorkGroup ? 1 : 0)"
    }

    var description: String {
        "MWG=\(mwg),NWG=\(nwg),KWG=\(kwg),MDIMC=\(mdimc),NDIMC=\(ndimc),VWM=\(vwm),VWN=\(vwn),VWK=\(vwk),"
            + "STRM=\(strm ? 1 : 0),STRN=\(strn ? 1 : 0),KWI=\(kwi)" + (relaxWorkGroup ? ",RELAX_WG=1" : "")
    }

    /// Why these parameters cannot be compiled (the same divisibility rules as the kernel's #error), or nil.
    var problem: String? {
        let widths = [1, 2, 4, 8, 16]
        guard widths.contains(vwm), widths.contains(vwn), widths.contains(vwk) else { return "vector widths must be 1, 2, 4, 8 or 16" }
        guard [mwg, nwg, kwg, mdimc, ndimc, kwi].allSatisfy({ $0 > 0 }) else { return "sizes must be positive" }
        // CLGemm's 32-bit index check allows for edge tiles up to this size.
        guard max(mwg, nwg, kwg) <= CLGemm.maxTile else { return "MWG, NWG and KWG must be at most \(CLGemm.maxTile)" }
        let t = workGroupSize
        let rules: [(Bool, String)] = [
            (mwg % (mdimc * vwm) == 0, "MWG must be a multiple of MDIMC*VWM"),
            (nwg % (ndimc * vwn) == 0, "NWG must be a multiple of NDIMC*VWN"),
            (kwg % vwk == 0 && kwg % kwi == 0, "KWG must be a multiple of VWK and KWI"),
            ((kwg * mwg / vwm) % t == 0 && (mwg * kwg / vwk) % t == 0, "the A tile must split evenly over the work-group"),
            ((kwg * nwg / vwn) % t == 0 && (nwg * kwg / vwk) % t == 0, "the B tile must split evenly over the work-group"),
        ]
        return rules.first { !$0.0 }.map(\.1)
    }

    /// `text`: comma-separated KEY=VALUE pairs (MWG=64,NWG=64,...), starting from `base`.
    init(parsing text: String, base: GemmTiling) throws {
        self = base
        for item in text.split(separator: ",") {
            let kv = item.split(separator: "=", maxSplits: 1).map { String($0).trimmingSpaces }
            guard kv.count == 2, let v = Int(kv[1]) else { throw DLInferError.invalid("GEMM tiling '\(text)': '\(item)' is not KEY=NUMBER") }
            switch kv[0].uppercased() {
            case "MWG": mwg = v
            case "NWG": nwg = v
            case "KWG": kwg = v
            case "MDIMC": mdimc = v
            case "NDIMC": ndimc = v
            case "VWM": vwm = v
            case "VWN": vwn = v
            case "VWK": vwk = v
            case "STRM": strm = v != 0
            case "STRN": strn = v != 0
            case "KWI": kwi = v
            case "RELAX_WG": relaxWorkGroup = v != 0
            default: throw DLInferError.invalid("GEMM tiling '\(text)': unknown parameter \(kv[0])")
            }
        }
        if let p = problem { throw DLInferError.invalid("GEMM tiling '\(text)': \(p)") }
    }

    init(mwg: Int, nwg: Int, kwg: Int, mdimc: Int, ndimc: Int, vwm: Int, vwn: Int, vwk: Int = 4,
         strm: Bool = false, strn: Bool = false, kwi: Int = 2, relaxWorkGroup: Bool = false) {
        self.mwg = mwg; self.nwg = nwg; self.kwg = kwg; self.mdimc = mdimc; self.ndimc = ndimc
        self.vwm = vwm; self.vwn = vwn; self.vwk = vwk; self.strm = strm; self.strn = strn; self.kwi = kwi
        self.relaxWorkGroup = relaxWorkGroup
    }
}

/// How CLGemm runs products on one device: tiled-kernel parameter sets from the largest tile to the smallest,
/// and when a smaller one is preferred.
struct GemmConfig {
    var tilings: [GemmTiling]
    /// A larger tile is used only when the product still makes at least this many work-groups (about one per
    /// compute unit: a big tile that leaves most of the device idle loses to a smaller one that fills it).
    var minWorkGroups: Int
    /// ... and only when it wastes at most this fraction of its work on edge tiles.
    static let maxEdgeWaste = 0.3
    /// Products with M or N at most this small run the GEMV kernel (kernels/gemv.cl).
    static let gemvMaxRows = 8

    /// The path an m x n product batched `batch` times takes.
    func path(m: Int, n: Int, batch: Int) -> GemmPath {
        let small = min(m, n)
        if small <= GemmConfig.gemvMaxRows {
            // Smallest power of two that holds the tiny dimension: the kernel keeps that many rows in registers.
            var rows = 1
            while rows < small { rows *= 2 }
            return .gemv(rows: rows, swapped: n < m)
        }
        return .tiled(tiling(m: m, n: n, batch: batch))
    }

    /// The tiling for an m x n product batched `batch` times.
    func tiling(m: Int, n: Int, batch: Int) -> GemmTiling {
        for t in tilings.dropLast() {
            let tm = (m + t.mwg - 1) / t.mwg, tn = (n + t.nwg - 1) / t.nwg
            let waste = 1 - Double(m * n) / Double(tm * t.mwg * tn * t.nwg)
            if tm * tn * batch >= minWorkGroups && waste <= GemmConfig.maxEdgeWaste { return t }
        }
        return tilings[tilings.count - 1]
    }

    // Tilings, largest first. None of these could be timed on its target yet (only PoCL was at hand): NVIDIA's large
    // one is the parameter set CLBlast's tuner found best on an H100; the others are starting points sized to each
    // vendor's work-group, register and local-memory budgets. DLINFER_OPENCL_GEMM overrides them (see `forDevice`).
    static let small = GemmTiling(mwg: 32, nwg: 32, kwg: 16, mdimc: 8, ndimc: 8, vwm: 4, vwn: 4)
    static let profiles: [String: [GemmTiling]] = [
        "nvidia": [GemmTiling(mwg: 128, nwg: 128, kwg: 16, mdimc: 8, ndimc: 16, vwm: 4, vwn: 8),
                   GemmTiling(mwg: 64, nwg: 64, kwg: 16, mdimc: 8, ndimc: 16, vwm: 4, vwn: 4), small],
        "amd": [GemmTiling(mwg: 128, nwg: 128, kwg: 16, mdimc: 16, ndimc: 16, vwm: 4, vwn: 4),
                GemmTiling(mwg: 64, nwg: 64, kwg: 16, mdimc: 16, ndimc: 16, vwm: 4, vwn: 4), small],
        "intel": [GemmTiling(mwg: 64, nwg: 64, kwg: 16, mdimc: 8, ndimc: 8, vwm: 4, vwn: 4), small],
        "mali": [GemmTiling(mwg: 64, nwg: 64, kwg: 16, mdimc: 16, ndimc: 16, vwm: 4, vwn: 4), small],
        "adreno": [GemmTiling(mwg: 64, nwg: 64, kwg: 16, mdimc: 16, ndimc: 16, vwm: 4, vwn: 4, relaxWorkGroup: true),
                   GemmTiling(mwg: 32, nwg: 32, kwg: 16, mdimc: 8, ndimc: 8, vwm: 4, vwn: 4, relaxWorkGroup: true)],
        "cpu": [GemmTiling(mwg: 64, nwg: 64, kwg: 16, mdimc: 8, ndimc: 8, vwm: 4, vwn: 8), small],
        "default": [GemmTiling(mwg: 64, nwg: 64, kwg: 16, mdimc: 16, ndimc: 16, vwm: 4, vwn: 4), small],
    ]

    /// The profile for a device by vendor and type.
    static func profileName(_ d: CLDeviceDescription) -> String {
        let vendor = d.vendor.lowercased(), name = d.name.lowercased()
        if d.typeName == "CPU" { return "cpu" }
        if vendor.includes("nvidia") { return "nvidia" }
        if vendor.includes("advanced micro devices") || vendor.includes("amd") { return "amd" }
        if vendor.includes("intel") { return "intel" }
        if vendor.includes("qualcomm") || name.includes("adreno") { return "adreno" }
        if vendor.includes("arm") || name.includes("mali") { return "mali" }
        return "default"
    }

    /// The configuration for `d`. DLINFER_OPENCL_GEMM replaces the tilings: a profile name from `profiles`
    /// ("nvidia"), or ';'-separated tilings, largest first, each a comma-separated list of parameters that change the
    /// device profile's first tiling ("MWG=64,NWG=64;MWG=32,NWG=32,MDIMC=8,NDIMC=8"), for tuning without rebuilding.
    static func forDevice(_ d: CLDeviceDescription) throws -> GemmConfig {
        let profile = profileName(d)
        // Intel counts execution units as compute units; a work-group runs on a sub-slice of 8 of them.
        let fill = profile == "intel" ? d.computeUnits / 8 : d.computeUnits
        var config = GemmConfig(tilings: profiles[profile]!, minWorkGroups: max(1, fill))
        let override = getenv("DLINFER_OPENCL_GEMM").map { String(cString: $0).trimmingSpaces } ?? ""
        if !override.isEmpty {
            if let named = profiles[override.lowercased()] {
                config.tilings = named
            } else {
                config.tilings = try override.split(separator: ";").map { try GemmTiling(parsing: String($0), base: config.tilings[0]) }
            }
        }
        let fits = { (t: GemmTiling) in t.workGroupSize <= d.maxWorkGroupSize && UInt64(t.localBytes) <= d.localMemory }
        if !override.isEmpty, let bad = config.tilings.first(where: { !fits($0) }) {
            throw DLInferError(.unsupported, "GEMM tiling \(bad) needs work-groups of \(bad.workGroupSize) and \(bad.localBytes) bytes of local memory; \(d.name) allows \(d.maxWorkGroupSize) and \(d.localMemory)")
        }
        config.tilings = config.tilings.filter(fits)
        if config.tilings.isEmpty {
            throw DLInferError(.unsupported, "no GEMM tiling fits \(d.name) (work-groups up to \(d.maxWorkGroupSize), \(d.localMemory) bytes of local memory)")
        }
        return config
    }
}
