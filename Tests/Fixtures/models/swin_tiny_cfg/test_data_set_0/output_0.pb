
BlogitsJ(#Ç™=&K+½R¼FÉ<y
x;FJY½ôñ<.
½)0#=;