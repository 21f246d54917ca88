// qk_shape.h: the layout of a q or k normalisation before attention (cpu_qk_norm_rope and its
// CUDA twin). x is [B, S, D] in rows of D channels (heads interleaved: head h is channels
// [h*dh, (h+1)*dh)). Each row is RMS-normalised in groups of `group` channels with the weight
// w[group] (group = D: across all heads, as LTX-Video; group = dh: per head, as Qwen-Image), then
// rotated in adjacent channel pairs (2i, 2i+1) by the RoPE tables cos_t, sin_t [S, table_width]:
// channel c of row s uses column c % table_width (table_width = D: a rotation per channel;
// table_width = dh: the same rotation for every head). Row s of batch element b lands in row
// b*y_rows + y_offset + s of y, so that the streams of a joint attention (text then image) are
// written side by side into one sequence (y_rows = S, y_offset = 0: x's own layout).
// The split layout (LTX-2, split_dh = the head width dh): channel i < dh/2 of each head pairs with
// channel i + dh/2 of that head, and the tables have one column per pair, D/2 in all: head h, pair
// i uses column h*dh/2 + i (table_width is then unused).
#ifndef BR_QK_SHAPE_H
#define BR_QK_SHAPE_H

typedef struct {
    int B, S, D;
    int group;            // channels per RMSNorm: divides D
    int table_width;      // columns of the RoPE tables: even, divides D
    int y_rows, y_offset; // y_offset + S <= y_rows
    float eps;
    int split_dh;         // 0: adjacent pairs; else the split layout of heads of split_dh channels
} br_qk_shape;

// The plain layout: norm over the whole row, tables of D columns, y shaped as x.
static inline br_qk_shape br_qk_plain(int B, int S, int D, float eps) {
    br_qk_shape sh = {B, S, D, D, D, S, 0, eps};
    return sh;
}

#endif
