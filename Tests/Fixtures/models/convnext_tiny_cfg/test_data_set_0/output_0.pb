
BlogitsJ(]S1>.
=
x¢=MG=T,pΩòÅ=!Ü¨Ω*Ωnxp<≤èÜ>