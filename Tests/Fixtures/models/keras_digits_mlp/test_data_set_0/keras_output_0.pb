
BprobabilitiesJ(
ĞL6Úxï4ûq4£	¶5n©a9šÛÃ4Øº70#~?â!^7¡Åì;