// Build-time helper for running TorchSharp 0.107 on hosts whose libstdc++ predates GCC 13.
//
//   elf_version_tool host-has LIBRARY VERSION SYMBOL
//       exit 0 if the host's LIBRARY defines SYMBOL at VERSION, 1 if not (then patching is needed).
//   elf_version_tool weaken FILE VERSION
//       marks the version-needs entry VERSION in FILE's .gnu.version_r as weak (VER_FLG_WEAK),
//       so the dynamic linker no longer refuses to load FILE when the host lacks that version.
//       Prints "weakened", "already-weak" or "absent"; exit 2 on any malformed input.
#include <dlfcn.h>
#include <elf.h>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

static int fail(const std::string& message) {
    std::fprintf(stderr, "elf_version_tool: %s\n", message.c_str());
    return 2;
}

static int host_has(const char* library, const char* version, const char* symbol) {
    void* handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
    if (!handle) return fail(std::string("cannot open ") + library + ": " + dlerror());
    bool found = dlvsym(handle, symbol, version) != nullptr;
    dlclose(handle);
    return found ? 0 : 1;
}

template <typename T>
static bool read_at(const std::vector<char>& image, size_t offset, T& out) {
    if (offset > image.size() || image.size() - offset < sizeof(T)) return false;
    std::memcpy(&out, image.data() + offset, sizeof(T));
    return true;
}

static int weaken(const char* path, const char* version) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return fail(std::string("cannot read ") + path);
    std::vector<char> image((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    in.close();

    Elf64_Ehdr header;
    if (!read_at(image, 0, header) || std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0 ||
        header.e_ident[EI_CLASS] != ELFCLASS64)
        return fail(std::string(path) + " is not a 64-bit ELF file");

    std::vector<Elf64_Shdr> sections(header.e_shnum);
    for (size_t i = 0; i < sections.size(); ++i)
        if (!read_at(image, header.e_shoff + i * sizeof(Elf64_Shdr), sections[i]))
            return fail(std::string(path) + ": section table is truncated");

    for (const Elf64_Shdr& section : sections) {
        if (section.sh_type != SHT_GNU_verneed) continue;
        if (section.sh_link >= sections.size()) return fail("version-needs string table index out of range");
        const Elf64_Shdr& strings = sections[section.sh_link];

        size_t need_offset = section.sh_offset;
        for (Elf64_Word n = 0; n < section.sh_info; ++n) {
            Elf64_Verneed need;
            if (!read_at(image, need_offset, need)) return fail("version-needs table is truncated");
            size_t aux_offset = need_offset + need.vn_aux;
            for (Elf64_Half a = 0; a < need.vn_cnt; ++a) {
                Elf64_Vernaux aux;
                if (!read_at(image, aux_offset, aux)) return fail("version-needs entry is truncated");
                size_t name_offset = strings.sh_offset + aux.vna_name;
                if (name_offset >= image.size()) return fail("version name out of range");
                if (std::strncmp(image.data() + name_offset, version, image.size() - name_offset) == 0) {
                    if (aux.vna_flags & VER_FLG_WEAK) { std::puts("already-weak"); return 0; }
                    aux.vna_flags |= VER_FLG_WEAK;
                    std::memcpy(image.data() + aux_offset, &aux, sizeof aux);
                    std::ofstream out(path, std::ios::binary | std::ios::trunc);
                    out.write(image.data(), static_cast<std::streamsize>(image.size()));
                    if (!out) return fail(std::string("cannot write ") + path);
                    std::puts("weakened");
                    return 0;
                }
                if (aux.vna_next == 0) break;
                aux_offset += aux.vna_next;
            }
            if (need.vn_next == 0) break;
            need_offset += need.vn_next;
        }
    }
    std::puts("absent");
    return 0;
}

int main(int argc, char** argv) {
    if (argc == 5 && std::strcmp(argv[1], "host-has") == 0) return host_has(argv[2], argv[3], argv[4]);
    if (argc == 4 && std::strcmp(argv[1], "weaken") == 0) return weaken(argv[2], argv[3]);
    return fail("usage: elf_version_tool host-has LIBRARY VERSION SYMBOL | weaken FILE VERSION");
}
