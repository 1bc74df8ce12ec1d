# write_if_changed(FILE CONTENT): writes CONTENT to FILE only when it differs from what FILE holds, so a
# generated header that did not change keeps its timestamp and recompiles nothing. Included by the build-time
# scripts that generate headers (src/core/git_revision.cmake, models/train/trainer_hash.cmake).
function(write_if_changed file content)
  set(old "")
  if(EXISTS ${file})
    file(READ ${file} old)
  endif()
  if(NOT old STREQUAL content)
    file(WRITE ${file} "${content}")
  endif()
endfunction()
