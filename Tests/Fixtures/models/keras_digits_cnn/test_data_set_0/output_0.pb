
BprobabilitiesJ(BFÊ0kĞV0c™3¯Ø(2ÿÄ2êaá4°{,¦ÿ?®Â’6ìj5