/// ONNX op name -> importer, merged from one table per op family.
enum ONNXOps {
    static let importers: [String: OpImporter] = {
        var all = [String: OpImporter]()
        for table in [elementwiseImporters, convImporters, poolImporters, gemmImporters, recurrentImporters,
                      normalizationImporters, softmaxImporters, reshapeImporters, transposeImporters, concatSplitImporters,
                      sliceImporters, gatherImporters, castImporters, fillImporters, padImporters, resizeImporters,
                      reduceImporters, controlFlowImporters, generatorImporters, layoutImporters, indexingImporters,
                      sortingImporters, detectionImporters, samplingImporters, deformConvImporters, cumulativeImporters,
                      mathImporters, compareImporters, arithmeticImporters, attentionImporters,
                      signalImporters, detImporters, lossImporters, bitCastImporters, randomImporters,
                      quantizeImporters] {
            all.merge(table) { _, _ in fatalError("an op is registered twice") }
        }
        return all
    }()
}
