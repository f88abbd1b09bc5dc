# SPDX-License-Identifier: GPL-2.0-or-later
# Shared CMake helpers for aiss components.

find_library(CMOCKA_LIBRARY cmocka REQUIRED)
find_path(CMOCKA_INCLUDE_DIR cmocka.h REQUIRED)

# aiss_unit_test(NAME SOURCES src... LIBS lib... [TIMEOUT s] [LABELS l...])
# Builds a cmocka test executable and registers it with ctest.
function(aiss_unit_test name)
	cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
	if(NOT T_TIMEOUT)
		set(T_TIMEOUT 120)
	endif()
	add_executable(${name} ${T_SOURCES})
	target_include_directories(${name} PRIVATE ${CMOCKA_INCLUDE_DIR})
	target_link_libraries(${name} PRIVATE ${T_LIBS} ${CMOCKA_LIBRARY})
	add_test(NAME ${name} COMMAND ${name})
	set_tests_properties(${name} PROPERTIES TIMEOUT ${T_TIMEOUT}
		LABELS "unit;${T_LABELS}"
		ENVIRONMENT "AISS_SHARED_DIR=${AISS_SHARED_DIR}")
endfunction()

# ../shared beside the checkout (optional: tests that need it skip).
get_filename_component(AISS_SHARED_DIR_DEFAULT "${CMAKE_SOURCE_DIR}/../shared" ABSOLUTE)
set(AISS_SHARED_DIR "${AISS_SHARED_DIR_DEFAULT}" CACHE PATH
	"The shared/ folder (domain brief, traces, topologies)")

# aiss_add_subdirs(): adds every immediate subdirectory of the current source
# directory that has a CMakeLists.txt, so parts can be added without editing
# a shared file.
macro(aiss_add_subdirs)
	file(GLOB _aiss_subdirs LIST_DIRECTORIES true RELATIVE
		${CMAKE_CURRENT_SOURCE_DIR} ${CMAKE_CURRENT_SOURCE_DIR}/*)
	list(SORT _aiss_subdirs)
	foreach(_d IN LISTS _aiss_subdirs)
		if(IS_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/${_d} AND
		   EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/${_d}/CMakeLists.txt)
			add_subdirectory(${_d})
		endif()
	endforeach()
endmacro()
