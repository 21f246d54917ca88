// qwen_rope.c: see qwen_rope.h. The reference builds its frequencies in fp32 (1 / theta^(2k/d)
// with fp32 exponents, positions times frequencies in fp32) and the rotations as complex64; the
// same fp32 steps here, cos and sin of each fp32 angle evaluated in double and rounded.
#include "qwen_rope.h"

#include <math.h>

#include "nn/rope.h"

void qwen_rope_image_position(const br_geometry *g, int token, int pos[3]) {
    int i = 0;
    for (; i < g->n_grids - 1; i++) {
        const int n = g->grid[i][0] * g->grid[i][1] * g->grid[i][2];
        if (token < n) break;
        token -= n;
    }
    const int h = g->grid[i][1], w = g->grid[i][2];
    pos[0] = i + token / (h * w);
    pos[1] = token / w % h - (h - h / 2);
    pos[2] = token % w - (w - w / 2);
}

void qwen_rope_text_position(const br_geometry *g, int text, int pos[3]) {
    int m = 0;
    for (int i = 0; i < g->n_grids; i++) {
        const int h = g->grid[i][1] / 2, w = g->grid[i][2] / 2;
        m = h > m ? h : m;
        m = w > m ? w : m;
    }
    pos[0] = pos[1] = pos[2] = m + text;
}

void qwen_rope_row(const qwen_config *cfg, const int pos[3], float *c, float *s) {
    int pair = 0;
    for (int a = 0; a < 3; a++) {
        const int d = cfg->axes[a];
        for (int k = 0; k < d / 2; k++, pair++) {
            const float exponent = (float)(2 * k) / (float)d;
            const float inv_freq = 1.0f / (float)pow(10000.0, (double)exponent);
            nn_rope_pair(c, s, pair, (float)pos[a] * inv_freq);
        }
    }
}

typedef struct {
    const qwen_config *cfg;
    const br_geometry *g;
} tables;

static void image_row(const void *ctx, int token, float *c, float *s) {
    const tables *t = ctx;
    int pos[3];
    qwen_rope_image_position(t->g, token, pos);
    qwen_rope_row(t->cfg, pos, c, s);
}

static void text_row(const void *ctx, int text, float *c, float *s) {
    const tables *t = ctx;
    int pos[3];
    qwen_rope_text_position(t->g, text, pos);
    qwen_rope_row(t->cfg, pos, c, s);
}

br_status qwen_rope_upload(br_backend *be, const qwen_config *cfg, const br_geometry *g,
                           float *img_cos, float *img_sin, float *txt_cos, float *txt_sin) {
    const tables t = {cfg, g};
    BR_TRY(nn_rope_upload(be, g->tokens, cfg->head_dim, image_row, &t, img_cos, img_sin));
    return nn_rope_upload(be, g->text_tokens, cfg->head_dim, text_row, &t, txt_cos, txt_sin);
}
