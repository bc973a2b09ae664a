# Turns a file into a C++ source defining `const std::string& <FUNCTION>()`.
file(READ "${INPUT}" CONTENT)
set(DELIM "wijkpuls_page")
file(WRITE "${OUTPUT}" "#include <string>\nnamespace wijkpuls {\nconst std::string& ${FUNCTION}() {\n  static const std::string kContent = R\"${DELIM}(${CONTENT})${DELIM}\";\n  return kContent;\n}\n}  // namespace wijkpuls\n")
