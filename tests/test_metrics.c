/* test_metrics.c - the evaluation metrics of src/cam/metrics.c on hand-made maps and boxes whose
 * answers are worked out by hand in the comments: Loc(delta) at delta 0 / 0.25 / 0.5, pixel
 * membership of fractional boxes, IoU, 8-connected components and their boxes, coverage, the
 * pointing game, Average Drop, Increase in Confidence and Win. */
#include "cam/metrics.h"
#include "harness.h"

#include <string.h>

#define W 10
#define H 10

/* A 10 x 10 map: 1.0 on the square [3,7) x [3,7) (16 px), 0.3 on column x = 0 (10 px), 0 elsewhere.
 * The GT box covers [2,6) x [2,6) (16 px); the bright square has 3 x 3 = 9 px inside it. */
static void make_map(float *m)
{
    memset(m, 0, W * H * sizeof(float));
    for (int y = 3; y < 7; y++)
        for (int x = 3; x < 7; x++) m[y * W + x] = 1.f;
    for (int y = 0; y < H; y++) m[y * W] = .3f;
}

TEST(loc_three_deltas)
{
    float m[W * H];
    unsigned char bin[W * H], mask[W * H];
    make_map(m);
    dn_pbox gt = {2, 2, 6, 6};
    CHECK(dn_metric_box_mask(&gt, 1, W, H, mask) == 16);
    /* delta 0 (map > 0): 26 px set, 9 inside, 17 outside -> 9 / (16 + 17) */
    CHECK(dn_metric_binarize(m, W * H, 0, 1, bin) == 26);
    CHECK_NEAR(dn_metric_loc(bin, mask, W * H), 9.0 / 33, 1e-6);
    /* delta 0.25 (>=): the same pixels */
    CHECK(dn_metric_binarize(m, W * H, .25f, 0, bin) == 26);
    CHECK_NEAR(dn_metric_loc(bin, mask, W * H), 9.0 / 33, 1e-6);
    /* delta 0.5: only the square: 9 inside, 7 outside -> 9 / (16 + 7) */
    CHECK(dn_metric_binarize(m, W * H, .5f, 0, bin) == 16);
    CHECK_NEAR(dn_metric_loc(bin, mask, W * H), 9.0 / 23, 1e-6);
    /* a map exactly on the box scores 1; an empty map 0; nothing at all 0 (no division by 0) */
    memset(m, 0, sizeof m);
    for (int y = 2; y < 6; y++)
        for (int x = 2; x < 6; x++) m[y * W + x] = .8f;
    dn_metric_binarize(m, W * H, .5f, 0, bin);
    CHECK_NEAR(dn_metric_loc(bin, mask, W * H), 1.0, 1e-7);
    dn_metric_binarize(m, W * H, .9f, 0, bin);
    CHECK_NEAR(dn_metric_loc(bin, mask, W * H), 0.0, 1e-7);
    memset(mask, 0, sizeof mask);
    CHECK_NEAR(dn_metric_loc(bin, mask, W * H), 0.0, 1e-7);
}

TEST(loc_union_of_two_boxes)
{
    /* two overlapping boxes [0,4)x[0,4) and [2,6)x[2,6): union 16 + 16 - 4 = 28 px. A map set on
       row y = 0 (10 px): 4 inside, 6 outside -> 4 / (28 + 6) */
    dn_pbox gt[2] = {{0, 0, 4, 4}, {2, 2, 6, 6}};
    unsigned char mask[W * H], bin[W * H];
    float m[W * H] = {0};
    for (int x = 0; x < W; x++) m[x] = 1;
    CHECK(dn_metric_box_mask(gt, 2, W, H, mask) == 28);
    dn_metric_binarize(m, W * H, 0, 1, bin);
    CHECK_NEAR(dn_metric_loc(bin, mask, W * H), 4.0 / 34, 1e-6);
}

TEST(fractional_boxes_and_rel)
{
    /* [1.4, 3.6): pixel centres 1.5, 2.5, 3.5 -> 3 columns; rows [0.5, 1.5): centre 0.5 only */
    dn_pbox b = {1.4f, .5f, 3.6f, 1.5f};
    unsigned char mask[W * H];
    CHECK(dn_metric_box_mask(&b, 1, W, H, mask) == 3);
    CHECK(mask[1] && mask[2] && mask[3] && !mask[4] && !mask[W + 1]);
    CHECK(dn_pbox_has(&b, 1, 0) && !dn_pbox_has(&b, 0, 0) && !dn_pbox_has(&b, 1, 1));
    /* a box outside the map is clipped to nothing */
    dn_pbox out = {-5, -5, -1, -1};
    CHECK(dn_metric_box_mask(&out, 1, W, H, mask) == 0);
    /* centre (.5,.5), size (.2,.4) of a 10 x 20 image -> [4,6) x [6,14) */
    dn_pbox r = dn_pbox_from_rel(.5f, .5f, .2f, .4f, 10, 20);
    CHECK_NEAR(r.x1, 4, 1e-5);
    CHECK_NEAR(r.x2, 6, 1e-5);
    CHECK_NEAR(r.y1, 6, 1e-5);
    CHECK_NEAR(r.y2, 14, 1e-5);
}

TEST(iou)
{
    dn_pbox a = {0, 0, 2, 2}, b = {1, 1, 3, 3}, c = {5, 5, 6, 6}, e = {0, 0, 0, 0};
    CHECK_NEAR(dn_pbox_iou(a, b), 1.0 / 7, 1e-6); /* overlap 1, union 4 + 4 - 1 */
    CHECK_NEAR(dn_pbox_iou(a, a), 1.0, 1e-7);
    CHECK_NEAR(dn_pbox_iou(a, c), 0.0, 1e-7);
    CHECK_NEAR(dn_pbox_iou(e, e), 0.0, 1e-7);
    dn_pbox inner = {0, 0, 1, 2}; /* half of a */
    CHECK_NEAR(dn_pbox_iou(a, inner), .5, 1e-7);
    dn_pbox comps[2] = {{5, 5, 6, 6}, {0, 0, 1, 2}};
    CHECK_NEAR(dn_metric_best_iou(comps, 2, &a, 1), .5, 1e-7);
    CHECK_NEAR(dn_metric_best_iou(comps, 0, &a, 1), 0, 1e-7);
}

TEST(components_8_connectivity)
{
    /* 6 x 5 pattern:
         x . . . . x      (0,0) and (1,1) touch diagonally -> one component, box [0,2) x [0,2)
         . x . . . x      (5,0),(5,1),(4,2) -> one component (diagonal link), box [4,6) x [0,3)
         . . . . x .
         . . . . . .
         x x x . . .      row 4, x 0..2 -> box [0,3) x [4,5)                                    */
    const char *pat = "x....x"
                      ".x...x"
                      "....x."
                      "......"
                      "xxx...";
    unsigned char bin[30];
    for (int i = 0; i < 30; i++) bin[i] = pat[i] == 'x';
    int labels[30], stack[30], sizes[3];
    dn_pbox boxes[3];
    int n = dn_metric_components(bin, 6, 5, labels, stack, boxes, sizes, 3);
    CHECK(n == 3);
    /* row-major scan order: the component of (0,0), then of (5,0), then row 4 */
    CHECK(sizes[0] == 2 && sizes[1] == 3 && sizes[2] == 3);
    CHECK(boxes[0].x1 == 0 && boxes[0].y1 == 0 && boxes[0].x2 == 2 && boxes[0].y2 == 2);
    CHECK(boxes[1].x1 == 4 && boxes[1].y1 == 0 && boxes[1].x2 == 6 && boxes[1].y2 == 3);
    CHECK(boxes[2].x1 == 0 && boxes[2].y1 == 4 && boxes[2].x2 == 3 && boxes[2].y2 == 5);
    CHECK(labels[0] == 1 && labels[7] == 1 && labels[5] == 2 && labels[16] == 2 && labels[24] == 3 && labels[3] == 0);
    /* with room for one box the total is still counted */
    CHECK(dn_metric_components(bin, 6, 5, labels, stack, boxes, NULL, 1) == 3);
    /* a full map is one component; an empty one none */
    memset(bin, 1, sizeof bin);
    CHECK(dn_metric_components(bin, 6, 5, labels, stack, boxes, sizes, 3) == 1 && sizes[0] == 30);
    memset(bin, 0, sizeof bin);
    CHECK(dn_metric_components(bin, 6, 5, labels, stack, boxes, sizes, 3) == 0);
}

TEST(components_box_iou_with_map)
{
    /* the map of make_map thresholded at 0.5 of its max: one component, the square [3,7)^2;
       against GT [2,6)^2: overlap 9, union 16 + 16 - 9 = 23 */
    float m[W * H];
    unsigned char bin[W * H];
    int labels[W * H], stack[W * H];
    dn_pbox box, gt = {2, 2, 6, 6};
    make_map(m);
    dn_metric_binarize(m, W * H, .5f, 0, bin);
    CHECK(dn_metric_components(bin, W, H, labels, stack, &box, NULL, 1) == 1);
    CHECK_NEAR(dn_metric_best_iou(&box, 1, &gt, 1), 9.0 / 23, 1e-6);
    /* at 0.25 the column x = 0 is a second component [0,1) x [0,10) */
    dn_pbox boxes[2];
    dn_metric_binarize(m, W * H, .25f, 0, bin);
    CHECK(dn_metric_components(bin, W, H, labels, stack, boxes, NULL, 2) == 2);
    CHECK(boxes[0].x1 == 0 && boxes[0].x2 == 1 && boxes[0].y1 == 0 && boxes[0].y2 == 10);
}

TEST(coverage_and_pointing)
{
    float m[W * H];
    unsigned char bin[W * H], hit[3];
    make_map(m);
    dn_metric_binarize(m, W * H, .5f, 0, bin);
    /* box A [5,9)^2 holds pixels of the square (5..6); B [0,2) x [0,2) holds none at 0.5 (the column
       x = 0 is 0.3); C [8,10) x [0,2) none */
    dn_pbox gt[3] = {{5, 5, 9, 9}, {0, 0, 2, 2}, {8, 0, 10, 2}};
    CHECK(dn_metric_covered(bin, W, H, gt, 3, hit) == 1);
    CHECK(hit[0] == 1 && hit[1] == 0 && hit[2] == 0);
    /* at 0.25 the column covers B too */
    dn_metric_binarize(m, W * H, .25f, 0, bin);
    CHECK(dn_metric_covered(bin, W, H, gt, 3, NULL) == 2);
    /* the first maximum in row order is (3,3): inside [2,6)^2, not inside [5,9)^2 */
    dn_pbox in = {2, 2, 6, 6};
    CHECK(dn_metric_pointing(m, W, H, &in, 1) == 1);
    CHECK(dn_metric_pointing(m, W, H, gt, 1) == 0);
    /* a flat map points nowhere */
    memset(m, 0, sizeof m);
    dn_pbox all = {0, 0, W, H};
    CHECK(dn_metric_pointing(m, W, H, &all, 1) == 0);
}

TEST(average_drop_increase_win)
{
    /* drops: (1 - .5)/1 = .5; .5 -> .6 is an increase (0); (.2 - .1)/.2 = .5; y = 0 is ignored.
       Average Drop = (.5 + 0 + .5) / 3 * 100 = 33.33; Increase = 1 of 3 = 33.33 % */
    float y[4] = {1, .5f, .2f, 0}, o[4] = {.5f, .6f, .1f, .3f};
    double drop, inc;
    CHECK(dn_metric_faithfulness(y, o, 4, &drop, &inc) == 3);
    CHECK_NEAR(drop, 100.0 / 3, 1e-4);
    CHECK_NEAR(inc, 100.0 / 3, 1e-4);
    CHECK_NEAR(dn_metric_rel_drop(1, .25f), .75, 1e-7);
    CHECK_NEAR(dn_metric_rel_drop(.5f, .75f), -.5, 1e-7);
    /* method B keeps less confidence on maps 0 and 1, more on map 2: A wins 2 of 3; B wins 1 of 3.
       Map 1 has two increases (.6 vs .55): the unclamped drop still ranks them. */
    float ob[4] = {.4f, .55f, .15f, .9f};
    CHECK_NEAR(dn_metric_win(y, o, ob, 4), 200.0 / 3, 1e-4);
    CHECK_NEAR(dn_metric_win(y, ob, o, 4), 100.0 / 3, 1e-4);
    /* equal drops win for neither, nor do drops that differ by float noise only */
    CHECK_NEAR(dn_metric_win(y, o, o, 4), 0, 1e-7);
    float on[4] = {.5f + 1e-7f, .6f - 1e-7f, .1f + 1e-8f, 0};
    CHECK_NEAR(dn_metric_win(y, o, on, 4), 0, 1e-7);
    CHECK_NEAR(dn_metric_win(y, on, o, 4), 0, 1e-7);
    float none[1] = {0};
    CHECK(dn_metric_faithfulness(none, none, 1, &drop, &inc) == 0 && drop == 0 && inc == 0);
}

int main(void)
{
    RUN(loc_three_deltas);
    RUN(loc_union_of_two_boxes);
    RUN(fractional_boxes_and_rel);
    RUN(iou);
    RUN(components_8_connectivity);
    RUN(components_box_iou_with_map);
    RUN(coverage_and_pointing);
    RUN(average_drop_increase_win);
    DONE();
}
