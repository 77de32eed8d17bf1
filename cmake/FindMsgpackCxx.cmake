# Finds msgpack-c's C++ headers (Debian: libmsgpack-cxx-dev) as an INTERFACE target
# MsgpackCxx::MsgpackCxx compiled with MSGPACK_NO_BOOST.
#
# Why not find_package(msgpack-cxx)? Debian's msgpack-config.cmake runs
# find_dependency(Boost REQUIRED): a ~150 MB dependency for adaptors (boost::optional,
# variant, fusion) that kv2pc never uses. kv2pc packs only nil, bool, ints, str, bin,
# arrays and maps, which msgpack-c implements without Boost when MSGPACK_NO_BOOST is
# defined (its documented switch). So we take the headers directly and define it.
find_path(MsgpackCxx_INCLUDE_DIR NAMES msgpack.hpp)
if(MsgpackCxx_INCLUDE_DIR AND EXISTS "${MsgpackCxx_INCLUDE_DIR}/msgpack/version_master.hpp")
  file(STRINGS "${MsgpackCxx_INCLUDE_DIR}/msgpack/version_master.hpp" _mp_ver
       REGEX "#define MSGPACK_VERSION_(MAJOR|MINOR|REVISION)")
  string(REGEX REPLACE ".*MAJOR ([0-9]+).*MINOR ([0-9]+).*REVISION ([0-9]+).*" "\\1.\\2.\\3"
         MsgpackCxx_VERSION "${_mp_ver}")
endif()
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(MsgpackCxx REQUIRED_VARS MsgpackCxx_INCLUDE_DIR
                                  VERSION_VAR MsgpackCxx_VERSION)
if(MsgpackCxx_FOUND AND NOT TARGET MsgpackCxx::MsgpackCxx)
  add_library(MsgpackCxx::MsgpackCxx INTERFACE IMPORTED)
  set_target_properties(MsgpackCxx::MsgpackCxx PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${MsgpackCxx_INCLUDE_DIR}"
    INTERFACE_COMPILE_DEFINITIONS "MSGPACK_NO_BOOST")
endif()
