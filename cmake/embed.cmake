# Turns a text file into a C string constant: cmake -DIN=.. -DOUT=.. -DNAME=.. -P embed.cmake
file(READ "${IN}" content HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${content}")
file(WRITE "${OUT}" "/* Generated from ${NAME}'s source by embed.cmake. Do not edit. */\n"
     "#include <stddef.h>\nconst char ${NAME}[] = {${bytes} 0x00};\n"
     "const size_t ${NAME}_len = sizeof(${NAME}) - 1;\n")
