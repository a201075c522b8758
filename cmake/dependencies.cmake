# Every dependency, wired once, as imported targets named dep::<name>.
# All come from Debian 12 packages (.ci/install-deps installs them).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)

# CAF 0.17 ships neither a CMake config nor a pkg-config file.
find_path(CAF_INCLUDE_DIR caf/all.hpp REQUIRED)
find_library(CAF_CORE_LIBRARY caf_core REQUIRED)
find_library(CAF_IO_LIBRARY caf_io REQUIRED)
add_library(dep::caf INTERFACE IMPORTED)
target_include_directories(dep::caf SYSTEM INTERFACE ${CAF_INCLUDE_DIR})
target_link_libraries(dep::caf INTERFACE ${CAF_CORE_LIBRARY} ${CAF_IO_LIBRARY} Threads::Threads)

pkg_check_modules(URING REQUIRED IMPORTED_TARGET GLOBAL liburing>=2.3)
pkg_check_modules(SOFIA REQUIRED IMPORTED_TARGET GLOBAL sofia-sip-ua)
pkg_check_modules(SPANDSP REQUIRED IMPORTED_TARGET GLOBAL spandsp)
pkg_check_modules(OPUS REQUIRED IMPORTED_TARGET GLOBAL opus)
pkg_check_modules(LUA REQUIRED IMPORTED_TARGET GLOBAL lua5.4)
pkg_check_modules(CURL REQUIRED IMPORTED_TARGET GLOBAL libcurl)
pkg_check_modules(SQLITE REQUIRED IMPORTED_TARGET GLOBAL sqlite3)
pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET GLOBAL hiredis)
# libcrypto (OpenSSL 3): MD5 and SHA-256 for digest auth (RFC 7616), HMAC for nonces.
pkg_check_modules(CRYPTO REQUIRED IMPORTED_TARGET GLOBAL libcrypto)
add_library(dep::uring ALIAS PkgConfig::URING)
add_library(dep::sofia ALIAS PkgConfig::SOFIA)
add_library(dep::spandsp ALIAS PkgConfig::SPANDSP)
add_library(dep::opus ALIAS PkgConfig::OPUS)
add_library(dep::lua ALIAS PkgConfig::LUA)
add_library(dep::curl ALIAS PkgConfig::CURL)
add_library(dep::sqlite ALIAS PkgConfig::SQLITE)
add_library(dep::hiredis ALIAS PkgConfig::HIREDIS)
add_library(dep::crypto ALIAS PkgConfig::CRYPTO)

# wslay has no pkg-config file in Debian 12.
find_path(WSLAY_INCLUDE_DIR wslay/wslay.h REQUIRED)
find_library(WSLAY_LIBRARY wslay REQUIRED)
add_library(dep::wslay INTERFACE IMPORTED)
target_include_directories(dep::wslay SYSTEM INTERFACE ${WSLAY_INCLUDE_DIR})
target_link_libraries(dep::wslay INTERFACE ${WSLAY_LIBRARY})

# Node's http_parser 2.9 (libhttp-parser-dev): no pkg-config file either.
find_path(HTTP_PARSER_INCLUDE_DIR http_parser.h REQUIRED)
find_library(HTTP_PARSER_LIBRARY http_parser REQUIRED)
add_library(dep::http_parser INTERFACE IMPORTED)
target_include_directories(dep::http_parser SYSTEM INTERFACE ${HTTP_PARSER_INCLUDE_DIR})
target_link_libraries(dep::http_parser INTERFACE ${HTTP_PARSER_LIBRARY})

find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(tomlplusplus REQUIRED)
find_package(nlohmann_json REQUIRED)
find_package(GTest REQUIRED)
find_package(rapidcheck REQUIRED)
find_package(benchmark REQUIRED)
add_library(dep::spdlog ALIAS spdlog::spdlog)
add_library(dep::toml ALIAS tomlplusplus::tomlplusplus)
add_library(dep::json ALIAS nlohmann_json::nlohmann_json)
