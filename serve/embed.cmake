# Turns a file into a C++ source defining `const std::string& <FUNCTION>()`.
# As bytes, not a string literal: a page is longer than the 65,536 characters a
# compiler must take in one literal (clang's -Woverlength-strings).
file(READ "${INPUT}" HEX HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," BYTES "${HEX}")
file(WRITE "${OUTPUT}" "#include <string>\nnamespace wijkpuls {\nconst std::string& ${FUNCTION}() {\n  static const unsigned char kBytes[] = {${BYTES}};\n  static const std::string kContent(reinterpret_cast<const char*>(kBytes), sizeof kBytes);\n  return kContent;\n}\n}  // namespace wijkpuls\n")
