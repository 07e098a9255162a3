/* fuzz_args.c - fuzz target: the command-line flag parser every subcommand uses (app_parse in
 * src/apps/app.c) with a table of every value type, and the method/score name lookups the
 * gradcampp flags feed. The input is the argument vector, NUL-separated. */
#include "fuzz.h"
#include "apps/app.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_begin();
    char *text = malloc(size + 1);
    if (!text) abort();
    if (size) memcpy(text, data, size);
    text[size] = 0;
    char *argv[64];
    int argc = 0;
    argv[argc++] = "darknet";
    argv[argc++] = "gradcampp";
    for (char *p = text; p <= text + size && argc < 64; p += strlen(p) + 1) argv[argc++] = p;
    int top = 5, raw = 0, layer = 0;
    float thresh = .25f, alpha = .5f;
    const char *method = "gradcampp", *target = "conf", *out = "x";
    const app_flag flags[] = {
        {"-top", 'i', &top},       {"-layer", 'i', &layer},   {"-raw", 'b', &raw},
        {"-thresh", 'f', &thresh}, {"-alpha", 'f', &alpha},   {"-method", 's', &method},
        {"-target", 's', &target}, {"-out", 's', &out},
    };
    char *pos[4];
    int npos = -1;
    FILE *saved = stderr;
    FILE *null = fopen("/dev/null", "w");
    if (null) stderr = null;
    int rc = app_parse(argc, argv, 2, flags, (int)(sizeof flags / sizeof flags[0]), pos, 4, &npos, "usage");
    stderr = saved;
    if (null) fclose(null);
    if (rc != APP_OK && rc != APP_USAGE) abort();
    if (npos < 0 || npos > 4) abort();
    if (rc == APP_OK) {
        for (int i = 0; i < npos; i++) (void)strlen(pos[i]);
        (void)strlen(method);
        (void)strlen(target);
        (void)strlen(out);
        if (thresh != thresh || alpha != alpha) abort();
        int m = dn_cam_method_parse(method), s = dn_cam_score_parse(target);
        if (m >= DN_CAM_COUNT || s >= DN_SCORE_COUNT) abort();
        if (m >= 0) (void)dn_cam_method_name((dn_cam_method)m);
        if (s >= 0) (void)dn_cam_score_name((dn_cam_score)s);
    }
    free(text);
    fuzz_end();
    return 0;
}
