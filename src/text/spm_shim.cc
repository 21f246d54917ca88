// spm_shim.cc: spm_shim.h over sentencepiece::SentencePieceProcessor. The library has only a C++
// interface, so this is brigade's one C++ file; no exception or C++ type crosses into C.
#include "spm_shim.h"

#include <sentencepiece_processor.h>

#include <cstdio>
#include <new>
#include <string>
#include <vector>

struct br_spm {
    sentencepiece::SentencePieceProcessor processor;
};

extern "C" br_spm *br_spm_load(const char *path, char *err, size_t err_size) {
    br_spm *s = new (std::nothrow) br_spm;
    if (!s) {
        snprintf(err, err_size, "out of memory");
        return nullptr;
    }
    const auto status = s->processor.Load(path);
    if (!status.ok()) {
        snprintf(err, err_size, "%s", status.ToString().c_str());
        delete s;
        return nullptr;
    }
    return s;
}

extern "C" void br_spm_free(br_spm *s) { delete s; }

extern "C" int br_spm_pieces(const br_spm *s) { return s->processor.GetPieceSize(); }

extern "C" int br_spm_bos_id(const br_spm *s) { return s->processor.bos_id(); }

extern "C" int br_spm_pad_id(const br_spm *s) {
    return s->processor.pad_id() >= 0 ? s->processor.pad_id() : s->processor.eos_id();
}

extern "C" int br_spm_encode(br_spm *s, const char *text, size_t len, int *ids, int cap,
                             char *err, size_t err_size) {
    std::vector<int> pieces;
    try {
        const auto status = s->processor.Encode(absl::string_view(text, len), &pieces);
        if (!status.ok()) {
            snprintf(err, err_size, "%s", status.ToString().c_str());
            return -1;
        }
    } catch (const std::bad_alloc &) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < pieces.size() && i < (size_t)cap; i++) ids[i] = pieces[i];
    return (int)pieces.size();
}
