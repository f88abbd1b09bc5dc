# SPDX-License-Identifier: GPL-2.0-or-later
# Finds a configured Slurm source tree matching the installed slurmctld, so
# the plugins can include Slurm's internal headers (src/slurmctld/slurmctld.h).
# Sets AISS_SLURM_OK (TRUE/FALSE) and AISS_SLURM_SRC; AISS_SLURM_PLUGIN_DIR is
# where Slurm's own plugins live; aiss_slurm_plugin(target src...) builds one.

set(AISS_SLURM_SRC "" CACHE PATH
	"Configured Slurm source tree (empty: run scripts/slurm-src.sh)")
option(AISS_FETCH_SLURM_SRC
	"Run scripts/slurm-src.sh at configure time when AISS_SLURM_SRC is empty" ON)
set(AISS_SLURM_OK FALSE)

find_program(AISS_SLURMCTLD slurmctld PATHS /usr/sbin /usr/local/sbin)
set(_slurm_installed "")
if(AISS_SLURMCTLD)
	execute_process(COMMAND ${AISS_SLURMCTLD} -V OUTPUT_VARIABLE _v
		ERROR_QUIET OUTPUT_STRIP_TRAILING_WHITESPACE)
	string(REGEX MATCH "[0-9]+\\.[0-9]+\\.[0-9]+" _slurm_installed "${_v}")
endif()

if(NOT _slurm_installed)
	message(STATUS "aiss plugins: skipped (no slurmctld installed)")
	return()
endif()

if(NOT AISS_SLURM_SRC AND AISS_FETCH_SLURM_SRC)
	message(STATUS "aiss plugins: fetching Slurm ${_slurm_installed} source "
		"(scripts/slurm-src.sh)")
	execute_process(COMMAND bash ${CMAKE_SOURCE_DIR}/scripts/slurm-src.sh
		OUTPUT_VARIABLE _src ERROR_VARIABLE _err RESULT_VARIABLE _rc
		OUTPUT_STRIP_TRAILING_WHITESPACE)
	if(_rc EQUAL 0 AND EXISTS "${_src}/config.h")
		set(AISS_SLURM_SRC "${_src}" CACHE PATH
			"Configured Slurm source tree" FORCE)
	else()
		string(STRIP "${_err}" _err)
		message(STATUS "aiss plugins: skipped (Slurm source unavailable: "
			"${_err})")
		return()
	endif()
endif()

if(NOT AISS_SLURM_SRC OR NOT EXISTS "${AISS_SLURM_SRC}/config.h")
	message(STATUS "aiss plugins: skipped (no configured Slurm source; "
		"set AISS_SLURM_SRC or run scripts/slurm-src.sh)")
	return()
endif()

file(STRINGS "${AISS_SLURM_SRC}/config.h" _vline
	REGEX "^#define SLURM_VERSION_STRING ")
string(REGEX MATCH "[0-9]+\\.[0-9]+\\.[0-9]+" _slurm_src_ver "${_vline}")
if(NOT _slurm_src_ver STREQUAL _slurm_installed)
	message(STATUS "aiss plugins: skipped (Slurm source ${AISS_SLURM_SRC} is "
		"${_slurm_src_ver} but slurmctld is ${_slurm_installed}; plugins "
		"must be built against the exact installed version)")
	return()
endif()

set(AISS_SLURM_OK TRUE)
set(AISS_SLURM_VERSION ${_slurm_installed})
find_path(AISS_SLURM_PLUGIN_DIR job_submit_lua.so job_submit_all_partitions.so
	PATHS /usr/lib/x86_64-linux-gnu/slurm-wlm /usr/lib64/slurm
	/usr/lib/slurm /usr/local/lib/slurm NO_DEFAULT_PATH)
message(STATUS "aiss plugins: building against Slurm ${_slurm_installed} "
	"source ${AISS_SLURM_SRC} (Slurm plugins in ${AISS_SLURM_PLUGIN_DIR})")

# Where the built plugins go, so a PluginDir can name one directory.
set(AISS_PLUGIN_OUT ${CMAKE_BINARY_DIR}/plugin/slurm)

# aiss_slurm_plugin(<name> <sources>...): a Slurm plugin <name>.so.
function(aiss_slurm_plugin name)
	add_library(${name} MODULE ${ARGN})
	set_target_properties(${name} PROPERTIES PREFIX "" OUTPUT_NAME ${name}
		LIBRARY_OUTPUT_DIRECTORY ${AISS_PLUGIN_OUT})
	target_compile_definitions(${name} PRIVATE HAVE_CONFIG_H)
	# Slurm's headers are not ours: no -Werror on their warnings.
	target_include_directories(${name} SYSTEM PRIVATE ${AISS_SLURM_SRC}
		${AISS_SLURM_SRC}/slurm ${AISS_SLURM_SRC}/src/common)
	target_include_directories(${name} PRIVATE
		${CMAKE_SOURCE_DIR}/plugin/common)
	target_link_options(${name} PRIVATE -Wl,--exclude-libs,ALL)
	if(AISS_SLURM_PLUGIN_DIR)
		install(TARGETS ${name} LIBRARY DESTINATION ${AISS_SLURM_PLUGIN_DIR})
	endif()
endfunction()
