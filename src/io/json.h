/* json.h - the JSON the project writes (gradcampp -json, gradcampp eval -json) and reads back
 * (gradcampp eval merge): a writer of strings as valid UTF-8 and of floats in the fewest digits
 * that read back bit for bit, and a reader into a tree of values. */
#ifndef DN_IO_JSON_H
#define DN_IO_JSON_H

#include "darknet.h"
#include <stddef.h>
#include <stdio.h>

enum { DN_J_NULL = 0, DN_J_BOOL, DN_J_NUM, DN_J_STR, DN_J_ARR, DN_J_OBJ };

/* A parsed JSON value. Arrays and objects own n children (objects also n keys). */
typedef struct dn_jv {
    int t;
    double num;
    char *str;
    struct dn_jv *kid;
    char **key;
    int n;
} dn_jv;

/* Writes s as a JSON string: '"', '\\' and control characters escaped, bytes that are not
   valid UTF-8 written as U+FFFD, so the output is always valid UTF-8 JSON. NULL writes "". */
void dn_json_str(FILE *f, const char *s);
/* Writes a float in the fewest digits that read back to the same float; non-finite as null. */
void dn_json_float(FILE *f, double v);

/* Parses text[0..n) (NUL bytes inside are an error) into *root; name is used in error messages
   ("name:line: what"). Nesting deeper than 64 levels is refused. */
dn_status dn_json_parse(const char *text, size_t n, const char *name, dn_jv *root);
/* Reads and parses a whole file. */
dn_status dn_json_read(const char *path, dn_jv *root);
void dn_jv_free(dn_jv *v);

/* Accessors: the member named key of an object (NULL when absent or not an object), a member's
   number (def when absent or not a number), string (NULL), and the i-th number of an array (0). */
const dn_jv *dn_json_get(const dn_jv *o, const char *key);
double dn_json_num(const dn_jv *o, const char *key, double def);
const char *dn_json_string(const dn_jv *o, const char *key);
float dn_json_at(const dn_jv *a, int i);

#endif
