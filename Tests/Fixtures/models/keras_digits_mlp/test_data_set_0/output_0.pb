
BprobabilitiesJ(	ĞL6×xï4ùq4¡	¶5m©a9—ÛÃ4Öº70!~?á!^7ŸÅì;