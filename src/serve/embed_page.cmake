# embed_page.cmake: page.html as the C string serve_page_html (one source for the page; run by
# the build whenever page.html changes).
file(READ "${IN}" html)
string(REPLACE "\\" "\\\\" html "${html}")
string(REPLACE "\"" "\\\"" html "${html}")
string(REPLACE "\n" "\\n\"\n    \"" html "${html}")
file(WRITE "${OUT}" "// Generated from src/serve/page.html by embed_page.cmake: edit that file.\n"
  "#include \"serve/serve_http.h\"\n\nconst char serve_page_html[] =\n    \"${html}\";\n")
