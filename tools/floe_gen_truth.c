/* floe_gen_truth.c: the truth file, JSON, written after the tree so its totals are what the
 * tree holds. Deterministic: no paths of the output directory, no thread count, no times of
 * the run, fixed key order. Schema: see the comment at the top of floe_gen.c. */
#include "floe_gen_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct jbuf {
    char *p;
    size_t len, cap;
    bool oom;
} jbuf;

static void jf(jbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void jf(jbuf *b, const char *fmt, ...) {
    if (b->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = true;
            return;
        }
        if ((size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap * 2 + (size_t)n + 1;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
}

/* A JSON string (our strings never need more than quote and backslash escapes). */
static void js(jbuf *b, const char *s) {
    jf(b, "\"");
    for (; s && *s; s++) {
        if (*s == '"' || *s == '\\')
            jf(b, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            jf(b, "\\u%04x", *s);
        else
            jf(b, "%c", *s);
    }
    jf(b, "\"");
}

static void jip(jbuf *b, const floe_gen_ip *ip) {
    char tmp[64];
    char *e = floe_gen_put_ip(tmp, ip);
    *e = 0;
    js(b, tmp);
}

static void jtime(jbuf *b, int64_t t) {
    char tmp[40];
    char *e = floe_gen_put_iso(tmp, t, false);
    *e = 0;
    js(b, tmp);
}

static void jact(jbuf *b, const char *name, const floe_gen_stats *st, int a, bool last) {
    jf(b, "      \"%s\": {\"records\": %llu, \"packets\": %llu, \"bytes\": %llu}%s\n", name,
       (unsigned long long)st->act_records[a], (unsigned long long)st->act_packets[a],
       (unsigned long long)st->act_bytes[a], last ? "" : ",");
}

static const char *codec_name(int c) {
    return c == FLOE_GEN_CODEC_GZIP ? "gzip" : c == FLOE_GEN_CODEC_ZSTD ? "zstd" : "plain";
}

static const char *layout_name(int l) {
    return l == FLOE_GEN_LAYOUT_HIVE         ? "hive"
           : l == FLOE_GEN_LAYOUT_CLOUDWATCH ? "cloudwatch"
                                             : "default";
}

static const char *base_name(const char *p) {
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

char *floe_gen_truth_json(const floe_gen_world *w, const floe_gen_result *res, size_t *len) {
    const floe_gen_opts *o = w->o;
    const floe_gen_stats *st = &res->total;
    jbuf b = {malloc(1 << 16), 0, 1 << 16, false};
    if (!b.p) return NULL;

    jf(&b, "{\n  \"generator\": \"floe-gen\",\n  \"params\": {\n");
    jf(&b, "    \"seed\": %llu,\n", (unsigned long long)o->seed);
    jf(&b, "    \"format_name\": ");
    js(&b, o->format_name);
    jf(&b, ",\n    \"format\": \"");
    for (uint32_t i = 0; i < o->nfields; i++)
        jf(&b, "%s%s", i ? " " : "", floe_field_name((floe_field)o->fields[i]));
    jf(&b, "\",\n    \"version\": %s,\n", w->version_str);
    jf(&b, "    \"codec\": \"%s\",\n    \"level\": %d,\n", codec_name(o->codec), o->level);
    jf(&b, "    \"layout\": \"%s\",\n    \"hourly\": %s,\n", layout_name(o->layout),
       o->hourly ? "true" : "false");
    jf(&b, "    \"org_id\": ");
    if (o->org_id)
        js(&b, o->org_id);
    else
        jf(&b, "null");
    jf(&b, ",\n    \"interval_s\": %u,\n    \"start\": ", o->interval);
    jtime(&b, w->t0);
    jf(&b, ",\n    \"end\": ");
    jtime(&b, w->t1);
    jf(&b, ",\n    \"hours\": %lld,\n", (long long)((w->t1 - w->t0) / 3600));
    jf(&b, "    \"accounts\": %u,\n    \"enis\": %u,\n", w->naccounts, w->nenis);
    jf(&b, "    \"size_target\": %llu,\n    \"records_target\": %llu,\n",
       (unsigned long long)o->size_bytes, (unsigned long long)o->records_target);
    jf(&b, "    \"density\": %.6g,\n    \"scan_mult\": %.6g,\n", w->density, w->scan_mult);
    jf(&b, "    \"plants\": %s,\n", o->plants ? "true" : "false");
    jf(&b, "    \"lookalikes\": %s,\n", o->lookalikes ? "true" : "false");
    jf(&b, "    \"tree\": \"%s\",\n", floe_gen_tree_root(o));
    jf(&b, "    \"intel\": ");
    js(&b, base_name(o->intel_path));
    jf(&b, "\n  },\n  \"accounts\": [\n");
    for (uint32_t a = 0; a < w->naccounts; a++) {
        const floe_gen_account *ac = &w->accounts[a];
        const floe_gen_vpc *v = &w->vpcs[ac->vpc];
        jf(&b,
           "    {\"account_id\": \"%s\", \"region\": \"%s\", \"vpc_id\": \"%s\", \"cidr\": "
           "\"%u.%u.0.0/16\", \"flow_log_id\": \"%s\", \"export_task\": \"%s\", \"enis\": %u}%s\n",
           ac->id.p, floe_gen_region_name(ac->region), v->id.p, v->cidr4 >> 24,
           v->cidr4 >> 16 & 255, ac->flow_log_id.p, ac->export_task.p, v->neni,
           a + 1 < w->naccounts ? "," : "");
    }
    jf(&b, "  ],\n  \"totals\": {\n");
    jf(&b, "    \"files\": %llu,\n    \"header_lines\": %llu,\n    \"records\": %llu,\n",
       (unsigned long long)st->files, (unsigned long long)st->headers,
       (unsigned long long)st->records);
    jf(&b, "    \"text_bytes\": %llu,\n    \"stored_bytes\": %llu,\n",
       (unsigned long long)st->text_bytes, (unsigned long long)st->stored_bytes);
    jf(&b, "    \"plant_records\": %llu,\n", (unsigned long long)st->plant_records);
    jf(&b, "    \"log_status\": {\"OK\": %llu, \"NODATA\": %llu, \"SKIPDATA\": %llu},\n",
       (unsigned long long)st->status[FLOE_LOG_STATUS_OK],
       (unsigned long long)st->status[FLOE_LOG_STATUS_NODATA],
       (unsigned long long)st->status[FLOE_LOG_STATUS_SKIPDATA]);
    jf(&b, "    \"action\": {\n");
    jact(&b, "ACCEPT", st, FLOE_ACTION_ACCEPT, false);
    jact(&b, "REJECT", st, FLOE_ACTION_REJECT, false);
    jact(&b, "-", st, FLOE_ACTION_NULL, true);
    jf(&b, "    }\n  },\n  \"plants\": [\n");
    for (uint32_t i = 0; i < w->nplants; i++) {
        const floe_gen_plant *p = &w->plants[i];
        jf(&b, "    {\n      \"type\": ");
        js(&b, p->type);
        jf(&b, ",\n      \"summary\": ");
        js(&b, p->summary);
        jf(&b, ",\n      \"threshold\": ");
        js(&b, p->threshold);
        jf(&b, ",\n      \"direction\": \"%s\",\n      \"actor\": ", p->direction);
        jip(&b, &p->actor);
        if (p->actor_eni >= 0) {
            const floe_gen_eni *e = &w->enis[p->actor_eni];
            jf(&b,
               ",\n      \"actor_eni\": \"%s\", \"actor_instance\": \"%s\", "
               "\"account_id\": \"%s\"",
               e->id.p, e->instance.p, w->accounts[e->account].id.p);
        }
        if (p->nsources) {
            jf(&b, ",\n      \"sources\": [");
            for (uint32_t j = 0; j < p->nsources; j++) {
                if (j) jf(&b, ", ");
                jip(&b, &p->sources[j]);
            }
            jf(&b, "]");
        }
        jf(&b, ",\n      \"targets\": [");
        for (uint32_t j = 0; j < p->ntargets; j++) {
            if (j) jf(&b, ", ");
            jip(&b, &p->targets[j]);
        }
        jf(&b, "]");
        if (p->target_eni >= 0) {
            const floe_gen_eni *e = &w->enis[p->target_eni];
            jf(&b,
               ",\n      \"target_eni\": \"%s\", \"target_instance\": \"%s\", "
               "\"account_id\": \"%s\"",
               e->id.p, e->instance.p, w->accounts[e->account].id.p);
        }
        jf(&b, ",\n      \"protocol\": %u,\n      \"ports\": [", p->proto);
        for (uint32_t j = 0; j < p->nports; j++)
            jf(&b, "%s%u", j ? ", " : "", p->ports[j]);
        jf(&b, "],\n      \"action\": \"%s\",\n      \"window_start\": ", p->action);
        jtime(&b, p->win_start);
        jf(&b, ", \"window_end\": ");
        jtime(&b, p->win_end);
        jf(&b, ",\n      \"first_seen\": ");
        jtime(&b, p->first_seen);
        jf(&b, ", \"last_seen\": ");
        jtime(&b, p->last_seen);
        jf(&b, ",\n      \"connections\": %llu, \"flows\": %llu, \"records\": %llu,\n",
           (unsigned long long)p->connections, (unsigned long long)p->flows,
           (unsigned long long)p->records);
        jf(&b,
           "      \"packets\": %llu, \"bytes\": %llu, \"reply_packets\": %llu, "
           "\"reply_bytes\": %llu,\n",
           (unsigned long long)p->packets, (unsigned long long)p->bytes,
           (unsigned long long)p->reply_packets, (unsigned long long)p->reply_bytes);
        jf(&b, "      \"distinct_ports\": %u, \"distinct_hosts\": %u", p->distinct_ports,
           p->distinct_hosts);
        if (p->period_s)
            jf(&b, ",\n      \"period_s\": %u, \"gap_cv\": %.4f", p->period_s, p->gap_cv);
        jf(&b, ",\n      \"overlaps\": ");
        if (p->overlaps)
            js(&b, p->overlaps);
        else
            jf(&b, "null");
        jf(&b, "\n    }%s\n", i + 1 < w->nplants ? "," : "");
    }
    jf(&b, "  ],\n  \"lookalikes\": [");
    for (uint32_t i = 0; i < w->nlookalikes; i++) {
        const floe_gen_plant *p = &w->lookalikes[i];
        const floe_gen_eni *e = &w->enis[p->actor_eni];
        jf(&b, "%s\n    {\n      \"kind\": ", i ? "," : "");
        js(&b, p->type);
        jf(&b, ", \"host_role\": ");
        js(&b, p->host_role);
        jf(&b, ",\n      \"summary\": ");
        js(&b, p->summary);
        jf(&b, ",\n      \"host\": ");
        jip(&b, &p->actor);
        jf(&b, ", \"host_eni\": \"%s\", \"account_id\": \"%s\",\n", e->id.p,
           w->accounts[e->account].id.p);
        jf(&b, "      \"protocol\": %u, \"port\": %u, \"peers\": %u, \"peer_sample\": [", p->proto,
           p->ports[0], p->ntargets);
        for (uint32_t j = 0; j < p->ntargets && j < 5; j++) {
            if (j) jf(&b, ", ");
            jip(&b, &p->targets[j]);
        }
        jf(&b, "],\n      \"window_start\": ");
        jtime(&b, p->win_start);
        jf(&b, ", \"window_end\": ");
        jtime(&b, p->win_end);
        jf(&b, ",\n      \"connections\": %llu, \"records\": %llu, \"packets\": %llu, "
               "\"bytes\": %llu\n    }",
           (unsigned long long)p->connections, (unsigned long long)p->records,
           (unsigned long long)p->packets, (unsigned long long)p->bytes);
    }
    jf(&b, "%s],\n  \"notes\": [\n", w->nlookalikes ? "\n  " : "");
    static const char *const notes[] = {
        "totals count every line written, plants included; packets and bytes sum OK records "
        "only (NODATA / SKIPDATA carry '-'); values are counted even when a field is not in "
        "the format",
        "a plant's flows are its records in the actor-to-target direction (a connection that "
        "spans aggregation windows gives one record per window); records add the replies; "
        "packets and bytes are the actor-to-target direction, reply_* the other",
        "window_start / window_end is the 10-minute window (UTC, aligned) holding the plant; "
        "for Beaconing, its first and last check-in",
        "server replies carry the client's ephemeral port (32768-60999, never 45700) as "
        "dstport; background service ports are all below 32768",
        "plant and threat-list addresses are in 45/8, 185/8 and 193/8, which no background "
        "flow uses",
        "look-alikes (--lookalikes) are benign traffic shaped like attacks, which should raise "
        "no finding; their external peers are in 198.18.0.0/15; their records count in "
        "totals.plant_records",
    };
    for (size_t i = 0; i < sizeof notes / sizeof notes[0]; i++) {
        jf(&b, "    ");
        js(&b, notes[i]);
        jf(&b, "%s\n", i + 1 < sizeof notes / sizeof notes[0] ? "," : "");
    }
    jf(&b, "  ]\n}\n");
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    *len = b.len;
    return b.p;
}
