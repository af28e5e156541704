import CDLInfer
