/* train.c - one training step (forward with batch statistics and the loss layers' deltas,
 * backward through every layer with weight gradients), the SGD update, and Darknet's
 * learning-rate policies (constant, step, steps, exp, poly, sig, with burn_in). */
#include "core.h"

#include <math.h>
#include <string.h>

dn_status dn_network_train_prepare(dn_network *net)
{
    for (int i = 0; i < net->n; i++) {
        dn_layer *l = &net->layers[i];
        if (!strcmp(l->ops->name, "region"))
            return dn_error(DN_ERR_UNSUPPORTED, "%s: layer %d: training [region] is not supported", net->cfg_path, i);
        if (l->ops->train_prepare) {
            dn_status st = l->ops->train_prepare(l);
            if (st != DN_OK) return st;
        }
    }
    if (!net->rng) net->rng = 0x5eed;
    if (net->adam && !net->adam_m) {
        net->adam_m = dn_calloc((size_t)3 * net->n, sizeof(float *));
        net->adam_v = dn_calloc((size_t)3 * net->n, sizeof(float *));
        if (!net->adam_m || !net->adam_v) return DN_ERR_NOMEM;
        for (int i = 0; i < net->n; i++) {
            dn_param ps[3];
            int np = dn_layer_train_params(&net->layers[i], ps);
            for (int k = 0; k < np; k++) {
                net->adam_m[3 * i + k] = dn_alloc_floats(ps[k].n, "adam m", i);
                net->adam_v[3 * i + k] = dn_alloc_floats(ps[k].n, "adam v", i);
                if (!net->adam_m[3 * i + k] || !net->adam_v[3 * i + k]) return DN_ERR_NOMEM;
            }
        }
    }
    return dn_network_backward_prepare(net, 0, net->n - 1, net->batch);
}

float dn_network_train_step(dn_network *net, const float *input, const float *truth, int truth_size)
{
    for (int i = 0; i < net->n; i++)
        memset(net->layers[i].delta, 0, (size_t)net->layers[i].outputs * net->batch * sizeof(float));
    net->truth = truth;
    net->truth_size = truth_size;
    dn_run r = {net, input, NULL, net->batch, 1, 0};
    for (int i = 0; i < net->n; i++) {
        dn_layer *l = &net->layers[i];
        l->cost = 0;
        l->ops->forward(l, &r);
        r.input = l->output;
    }
    const long iteration = (long)(net->seen / (uint64_t)(net->cfg_batch > 0 ? net->cfg_batch : net->batch));
    net->frozen = 0;
    for (int i = net->n - 1; i >= 0; i--) {
        dn_layer *l = &net->layers[i];
        if (l->stopbackward == 1 || l->stopbackward > iteration) {
            net->frozen = i + 1;
            break;
        }
        r.input = i ? net->layers[i - 1].output : input;
        r.input_delta = i ? net->layers[i - 1].delta : NULL;
        l->ops->backward(l, &r);
    }
    double cost = 0;
    for (int i = 0; i < net->n; i++) cost += net->layers[i].cost;
    net->truth = NULL;
    return (float)(cost / net->batch);
}

float dn_network_rate(const dn_network *net, long batch_num)
{
    const float lr = net->learning_rate;
    if (batch_num < net->burn_in) return lr * powf((float)batch_num / net->burn_in, net->power);
    switch (net->policy) {
    case 1: return lr * powf(net->scale, (float)(batch_num / (net->step > 0 ? net->step : 1)));
    case 2: return lr * powf(net->gamma, (float)batch_num);
    case 3: {
        float f = net->max_batches > 0 ? 1.f - (float)batch_num / net->max_batches : 1.f;
        return lr * powf(f > 0 ? f : 0, net->power);
    }
    case 4: {
        float rate = lr;
        for (int i = 0; i < net->num_steps; i++) {
            if (net->steps[i] > batch_num) return rate;
            rate *= net->scales[i];
        }
        return rate;
    }
    case 5: return lr * (1.f / (1.f + expf(net->gamma * (batch_num - net->step))));
    default: return lr;
    }
}

/* Both updates leave the layers frozen by stopbackward (0..frozen-1) exactly as they are: no
 * weight decay, no momentum (AlexeyAB still decays them a little under SGD). */

/* Adam as pjreddie's and AlexeyAB's Darknet apply it: d = the accumulated update (-dLoss/dw
 * summed over the batch) less decay*batch*w for weights; m = B1 m + (1-B1) d, v = B2 v + (1-B2) d^2,
 * w += rate * m/(1-B1^t) / (sqrt(v/(1-B2^t)) + eps); the update is then cleared. t counts from 1. */
static void adam_update(dn_network *net, float rate, int batch)
{
    const double t = (double)(net->seen / (uint64_t)(batch > 0 ? batch : 1)) + 1;
    const float c1 = (float)(1 - pow(net->B1, t)), c2 = (float)(1 - pow(net->B2, t));
    for (int i = net->frozen; i < net->n; i++) {
        dn_param ps[3];
        int np = dn_layer_train_params(&net->layers[i], ps);
        for (int k = 0; k < np; k++) {
            float *w = ps[k].value, *d = ps[k].update;
            float *m = net->adam_m[3 * i + k], *v = net->adam_v[3 * i + k];
            const float decay = strcmp(ps[k].name, "weights") ? 0 : net->decay * batch;
            for (size_t j = 0; j < ps[k].n; j++) {
                float g = d[j] - decay * w[j];
                m[j] = net->B1 * m[j] + (1 - net->B1) * g;
                v[j] = net->B2 * v[j] + (1 - net->B2) * g * g;
                w[j] += rate * (m[j] / c1) / (sqrtf(v[j] / c2) + net->eps);
                d[j] = 0;
            }
        }
        if (np) dn_layer_refold(&net->layers[i]);
    }
}

void dn_network_update(dn_network *net, float rate, int batch)
{
    if (net->adam && net->adam_m) {
        adam_update(net, rate, batch);
        return;
    }
    dn_update u = {rate, net->momentum, net->decay, batch};
    for (int i = net->frozen; i < net->n; i++)
        if (net->layers[i].ops->update) net->layers[i].ops->update(&net->layers[i], &u);
}
