// Stand-in for the one libstdc++ symbol of GCC 13 (GLIBCXX_3.4.32) that TorchSharp's
// libLibTorchSharp.so needs and GCC 12's libstdc++ (Debian 12) lacks.
//
// GCC 13's <iostream> references std::ios_base_library_init() only to make the linker pull in
// the libstdc++ that initialises the standard streams; the function itself does nothing. On
// GCC 12 the streams are initialised by a static ios_base::Init per translation unit that
// includes <iostream>, so this file holds one, and the symbol for the dynamic linker to bind.
#include <iostream>

static std::ios_base::Init standard_streams_init;

namespace std {
__attribute__((visibility("default"))) void ios_base_library_init() {}
}
