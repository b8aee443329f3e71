# The layering check (STYLE.md), run by the build before any library compiles:
#   cmake -DXTCP_SOURCE_DIR=<tree> [-DXTCP_STAMP=<file>] -P cmake/layering.cmake
# Every `#include "x/..."` in src/<lib>/ must name <lib> itself or a library <lib> may use.
# Headers of outside libraries (absl, google, prometheus, ...) are not checked.
#
#   common -> proto/record -> config -> netlink/decode/netns/parquet -> marshal/sink -> pipeline -> observe/rpc -> main
# with one twist: config is the top floor's — only main may include it; every layer below gets
# its own options struct, which main fills from the Config.

cmake_minimum_required(VERSION 3.25)

# ---- the rules: library -> what it may include (besides itself) ----
set(XTCP_MAY_common   "")
set(XTCP_MAY_record   "common;proto")
set(XTCP_MAY_config   "common;proto;record")
set(XTCP_MAY_netlink  "common;proto;record")
set(XTCP_MAY_decode   "common;proto;record")
set(XTCP_MAY_netns    "common;proto;record;netlink")
set(XTCP_MAY_marshal  "common;proto;record;netlink;decode;netns;contracts")
set(XTCP_MAY_parquet  "common;proto;record")
set(XTCP_MAY_sink     "common;proto;record;netlink;decode;netns;contracts;parquet")
set(XTCP_MAY_pipeline "common;proto;record;netlink;decode;netns;contracts;marshal;sink;parquet")
set(XTCP_MAY_observe  "common;proto;record;netlink;decode;netns;contracts;marshal;sink;pipeline")
set(XTCP_MAY_rpc      "common;proto;record;netlink;decode;netns;contracts;marshal;sink;pipeline")
set(XTCP_MAY_main     "common;proto;record;netlink;decode;netns;contracts;parquet;marshal;sink;pipeline;observe;rpc;config")
# The gRPC client programs (xtcp2ctl, xtcp2client): beside main, never part of the daemon.
set(XTCP_MAY_tools    "common;proto;record;contracts;marshal;config")
# Single files allowed one include their library may not have, as "file|layer" (none today).
set(XTCP_LAYER_EXCEPTIONS "")

# First path component of an include -> the layer that owns it.
set(XTCP_LIBS common record config netlink decode netns parquet marshal sink pipeline observe rpc main tools)
function(xtcp_layer_of component out)
  if(component STREQUAL "xtcp_config" OR component STREQUAL "xtcp_flat_record")
    set(${out} proto PARENT_SCOPE)
  elseif(component STREQUAL "xtcp")
    set(${out} contracts PARENT_SCOPE)  # include/xtcp/: the marshaller/sink contracts
  elseif(component IN_LIST XTCP_LIBS)
    set(${out} ${component} PARENT_SCOPE)
  else()
    set(${out} "" PARENT_SCOPE)
  endif()
endfunction()

file(GLOB_RECURSE sources RELATIVE ${XTCP_SOURCE_DIR} ${XTCP_SOURCE_DIR}/src/*.h
     ${XTCP_SOURCE_DIR}/src/*.cc)
set(violations "")
foreach(file IN LISTS sources)
  string(REGEX MATCH "^src/([^/]+)/" _ ${file})
  set(lib ${CMAKE_MATCH_1})
  if(NOT lib IN_LIST XTCP_LIBS)
    continue()
  endif()
  file(STRINGS ${XTCP_SOURCE_DIR}/${file} includes REGEX "^[ \t]*#[ \t]*include[ \t]+\"[^\"]+\"")
  foreach(line IN LISTS includes)
    string(REGEX MATCH "\"([^/\"]+)/[^\"]*\"" _ "${line}")
    if(NOT CMAKE_MATCH_1)
      continue()
    endif()
    xtcp_layer_of(${CMAKE_MATCH_1} layer)
    if(layer STREQUAL "" OR layer STREQUAL lib OR layer IN_LIST XTCP_MAY_${lib})
      continue()
    endif()
    if("${file}|${layer}" IN_LIST XTCP_LAYER_EXCEPTIONS)
      continue()
    endif()
    string(STRIP "${line}" line)
    list(APPEND violations "  ${file}: ${line} (${lib} may not include ${layer})")
  endforeach()
endforeach()

if(violations)
  list(JOIN violations "\n" text)
  message(FATAL_ERROR "layering check failed (rules: cmake/layering.cmake, STYLE.md):\n${text}")
endif()
if(XTCP_STAMP)
  file(TOUCH ${XTCP_STAMP})
endif()
