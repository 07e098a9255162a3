/* registry.c - maps cfg section names (and Darknet's short aliases) to layer operations.
 * Adding a layer: its file, one extern and one line here. */
#include "core/core.h"

#include <string.h>

extern const dn_layer_ops dn_convolutional_ops, dn_maxpool_ops, dn_avgpool_ops, dn_connected_ops,
    dn_softmax_ops, dn_dropout_ops, dn_cost_ops, dn_route_ops, dn_shortcut_ops,
    dn_scale_channels_ops, dn_upsample_ops, dn_reorg_ops, dn_yolo_ops, dn_region_ops, dn_crop_ops;

static const struct {
    const char *name;
    const dn_layer_ops *ops;
} table[] = {
    {"convolutional", &dn_convolutional_ops}, {"conv", &dn_convolutional_ops},
    {"maxpool", &dn_maxpool_ops}, {"max", &dn_maxpool_ops},
    {"avgpool", &dn_avgpool_ops}, {"avg", &dn_avgpool_ops},
    {"connected", &dn_connected_ops}, {"conn", &dn_connected_ops},
    {"softmax", &dn_softmax_ops}, {"soft", &dn_softmax_ops},
    {"dropout", &dn_dropout_ops},
    {"cost", &dn_cost_ops},
    {"route", &dn_route_ops},
    {"shortcut", &dn_shortcut_ops},
    {"scale_channels", &dn_scale_channels_ops},
    {"upsample", &dn_upsample_ops},
    {"reorg", &dn_reorg_ops},
    {"yolo", &dn_yolo_ops},
    {"region", &dn_region_ops},
    {"crop", &dn_crop_ops},
};

const dn_layer_ops *dn_layer_ops_find(const char *section)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (!strcmp(section, table[i].name)) return table[i].ops;
    return NULL;
}
