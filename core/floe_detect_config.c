/* floe_detect_config.c: the detectors' settings, their defaults (detections.md) and the
 * "key = value" form the config file and --set share. */
#include "floe_detect.h"

#include "floe_text.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint16_t default_sensitive[] = {22,   23,   3389, 445,   1433, 3306, 5432,
                                             6379, 9200, 9300, 27017, 8088, 5985, 5986};
static const uint16_t default_mining[] = {3333, 4444, 5555, 7777, 8333, 9999, 14444, 45700};

/* RFC 1918, shared address space (RFC 6598), unique local IPv6, link-local v4 and v6. */
static const char *const private_ranges[] = {"10.0.0.0/8",    "172.16.0.0/12",  "192.168.0.0/16",
                                             "100.64.0.0/10", "169.254.0.0/16", "fc00::/7",
                                             "fe80::/10"};

static void set_port(uint8_t *bits, unsigned port) {
    bits[port >> 3] |= (uint8_t)(1u << (port & 7));
}

void floe_detect_config_init(floe_detect_config *c) {
    memset(c, 0, sizeof *c);
    c->scan_window = 600;
    c->portscan_ports = 100;
    c->portsweep_hosts = 50;
    c->portsweep_max_answered = 0.5;
    c->probe_window = 3600;
    c->probe_sources = 10;
    c->brute_flows = 50;
    c->brute_max_bytes = 5000;
    c->dos_packets = 1000000;
    c->dos_bytes = 1000000000;
    c->volume_zscore = 6.0;
    c->volume_bytes = 1000000000;
    c->volume_min_samples = 4;
    c->port_baseline = 3600;
    c->spam_hosts = 20;
    c->beacon_connections = 12;
    c->beacon_max_cv = 0.1;
    c->beacon_min_period = 30;
    c->beacon_max_connections = 10000;
    c->lateness = 3600;
    for (size_t i = 0; i < sizeof default_sensitive / sizeof *default_sensitive; i++)
        set_port(c->sensitive_ports, default_sensitive[i]);
    for (size_t i = 0; i < sizeof default_mining / sizeof *default_mining; i++)
        set_port(c->mining_ports, default_mining[i]);
}

void floe_detect_config_free(floe_detect_config *c) {
    floe_cidr_set_free(c->internal);
    floe_cidr_set_free(c->intel);
    floe_cidr_set_free(c->mining_hosts);
    floe_cidr_set_free(c->allow_actors);
    floe_cidr_set_free(c->allow_targets);
    c->internal = c->intel = c->mining_hosts = c->allow_actors = c->allow_targets = NULL;
}

floe_status floe_detect_config_finish(floe_detect_config *c) {
    if (!c->internal) {
        if (!(c->internal = floe_cidr_set_new())) return FLOE_ERR_NOMEM;
        for (size_t i = 0; i < sizeof private_ranges / sizeof *private_ranges; i++) {
            floe_status st =
                floe_cidr_set_add_text(c->internal, private_ranges[i], strlen(private_ranges[i]));
            if (st != FLOE_OK) return st;
        }
    }
    floe_cidr_set *sets[] = {c->internal, c->intel, c->mining_hosts, c->allow_actors,
                             c->allow_targets};
    for (size_t i = 0; i < sizeof sets / sizeof *sets; i++) {
        if (!sets[i]) continue;
        floe_status st = floe_cidr_set_build(sets[i]);
        if (st != FLOE_OK) return st;
    }
    /* Threat lists name internet addresses; when this one names none of ours, the detectors
     * look up only a flow's external side. */
    c->intel_has_internal = c->intel && floe_cidr_set_overlaps(c->intel, c->internal);
    return FLOE_OK;
}

/* ---- the settings table ---- */

typedef enum kind { K_SECONDS, K_LATENESS, K_COUNT32, K_COUNT64, K_REAL, K_PORTS, K_LIST } kind;

typedef struct setting {
    const char *name;
    kind kind;
    size_t offset;
    const char *help;
} setting;

#define AT(field) offsetof(floe_detect_config, field)
static const setting settings[] = {
    {"scan.window", K_SECONDS, AT(scan_window),
     "window of Portscan, PortSweep, brute force, DoS, Spambot, BitcoinTool, threat list (10m)"},
    {"portscan.ports", K_COUNT32, AT(portscan_ports),
     "distinct ports one source probes on one host (100)"},
    {"portsweep.hosts", K_COUNT32, AT(portsweep_hosts),
     "distinct hosts one source probes on one port (50)"},
    {"portsweep.max_answered", K_REAL, AT(portsweep_max_answered),
     "answering hosts per swept host, at most: more is ordinary client traffic (0.5)"},
    {"probe.window", K_SECONDS, AT(probe_window), "window of PortProbeUnprotectedPort (1h)"},
    {"probe.sources", K_COUNT32, AT(probe_sources),
     "distinct external sources ACCEPTed on one sensitive port of one host (10)"},
    {"brute.flows", K_COUNT32, AT(brute_flows),
     "short flows from one source to one host's SSH/RDP/WinRM (50)"},
    {"brute.max_bytes", K_COUNT64, AT(brute_max_bytes),
     "a flow under this many bytes is an attempt (5K)"},
    {"dos.packets", K_COUNT64, AT(dos_packets), "packets to one external host in a window (1M)"},
    {"dos.bytes", K_COUNT64, AT(dos_bytes), "or bytes to one external host in a window (1G)"},
    {"volume.zscore", K_REAL, AT(volume_zscore), "z-score against the host's own windows (6)"},
    {"volume.bytes", K_COUNT64, AT(volume_bytes),
     "and at least these bytes to one external host (1G)"},
    {"volume.min_samples", K_COUNT32, AT(volume_min_samples),
     "other (window, host) samples a host needs for a baseline (4)"},
    {"port_unusual.baseline", K_SECONDS, AT(port_baseline),
     "how long a host must have been seen before a new remote port is unusual (1h)"},
    {"spam.hosts", K_COUNT32, AT(spam_hosts),
     "distinct TCP/25 destinations of a host new to port 25 (20)"},
    {"beacon.connections", K_COUNT32, AT(beacon_connections),
     "connections one host makes to one external host:port (12)"},
    {"beacon.max_cv", K_REAL, AT(beacon_max_cv),
     "coefficient of variation of the gaps, at most (0.1)"},
    {"beacon.min_period", K_SECONDS, AT(beacon_min_period),
     "mean gap, at least: a burst of evenly spaced connections is not a beacon (30s)"},
    {"beacon.max_connections", K_COUNT32, AT(beacon_max_connections),
     "pairs with more connections are not checked (10000)"},
    {"lateness", K_LATENESS, AT(lateness),
     "how long before its file's hour a record may start; windows close that long after the "
     "files pass their end (none: all at the end) (1h)"},
    {"sensitive_ports", K_PORTS, AT(sensitive_ports),
     "PortProbeUnprotectedPort's ports "
     "(22,23,3389,445,1433,3306,5432,6379,9200,9300,27017,8088,5985,5986)"},
    {"mining_ports", K_PORTS, AT(mining_ports),
     "BitcoinTool's ports (3333,4444,5555,7777,8333,9999,14444,45700)"},
    {"internal", K_LIST, AT(internal), "internal CIDRs, replacing the private ranges (adds)"},
    {"intel", K_LIST, AT(intel), "threat-list entries, as --intel files hold (adds)"},
    {"mining_hosts", K_LIST, AT(mining_hosts),
     "mining-pool addresses or CIDRs for BitcoinTool (adds)"},
    {"allow.actors", K_LIST, AT(allow_actors),
     "addresses or CIDRs never reported as actors (adds)"},
    {"allow.targets", K_LIST, AT(allow_targets),
     "addresses or CIDRs never reported as targets (adds)"},
};
#undef AT

const char *floe_detect_config_keys(void) {
    static char text[4096];
    if (text[0]) return text;
    size_t n = 0;
    for (size_t i = 0; i < sizeof settings / sizeof *settings && n < sizeof text; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "  %-24s %s\n", settings[i].name,
                              settings[i].help);
    return text;
}

static floe_status fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static floe_status fail(char *err, size_t errlen, const char *fmt, ...) {
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return FLOE_ERR_FORMAT;
}

static bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r';
}

/* A non-negative number with an optional fraction and a unit multiplier from `units`. */
static bool parse_number(const char *s, size_t n, const char *units, const double *mult,
                         double *out) {
    char buf[64];
    if (n == 0 || n >= sizeof buf) return false;
    memcpy(buf, s, n);
    buf[n] = 0;
    char *end;
    double v = strtod(buf, &end);
    if (end == buf || !(v >= 0) || !isfinite(v) || buf[0] == '-' || buf[0] == '+') return false;
    if (*end) {
        const char *u = strchr(units, *end);
        if (!u || end[1]) return false;
        v *= mult[u - units];
    }
    *out = v;
    return true;
}

floe_cidr_set **floe_detect_config_list(floe_detect_config *c, const char *name) {
    for (size_t i = 0; i < sizeof settings / sizeof *settings; i++) {
        if (settings[i].kind != K_LIST || strcmp(settings[i].name, name) != 0) continue;
        floe_cidr_set **slot = (floe_cidr_set **)(void *)((char *)c + settings[i].offset);
        if (!*slot) *slot = floe_cidr_set_new();
        return *slot ? slot : NULL;
    }
    return NULL;
}

/* Calls item(ctx, text, len) for each comma- or space-separated item of the value. */
static floe_status each_item(const char *v, size_t n,
                             floe_status (*item)(void *ctx, const char *s, size_t len), void *ctx) {
    for (size_t i = 0; i < n;) {
        while (i < n && (v[i] == ',' || is_space(v[i])))
            i++;
        size_t b = i;
        while (i < n && v[i] != ',' && !is_space(v[i]))
            i++;
        if (i > b) {
            floe_status st = item(ctx, v + b, i - b);
            if (st != FLOE_OK) return st;
        }
    }
    return FLOE_OK;
}

static floe_status add_port(void *ctx, const char *s, size_t len) {
    unsigned port = 0;
    if (len == 0 || len > 5) return FLOE_ERR_FORMAT;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return FLOE_ERR_FORMAT;
        port = port * 10 + (unsigned)(s[i] - '0');
    }
    if (port > 65535) return FLOE_ERR_FORMAT;
    set_port(ctx, port);
    return FLOE_OK;
}

static floe_status add_cidr(void *ctx, const char *s, size_t len) {
    return floe_cidr_set_add_text(ctx, s, len);
}

floe_status floe_detect_config_set(floe_detect_config *c, const char *line, size_t len, char *err,
                                   size_t errlen) {
    const char *eq = memchr(line, '=', len);
    if (!eq) return fail(err, errlen, "expected 'name = value'");
    size_t kb = 0, ke = (size_t)(eq - line);
    while (kb < ke && is_space(line[kb]))
        kb++;
    while (ke > kb && is_space(line[ke - 1]))
        ke--;
    const char *v = eq + 1;
    size_t vn = len - (size_t)(v - line);
    while (vn && is_space(*v))
        v++, vn--;
    while (vn && is_space(v[vn - 1]))
        vn--;
    const setting *s = NULL;
    for (size_t i = 0; i < sizeof settings / sizeof *settings; i++)
        if (strlen(settings[i].name) == ke - kb &&
            memcmp(settings[i].name, line + kb, ke - kb) == 0)
            s = &settings[i];
    if (!s) return fail(err, errlen, "unknown setting '%.*s'", (int)(ke - kb), line + kb);
    void *at = (char *)c + s->offset;
    static const double time_mult[] = {1, 60, 3600, 86400};
    static const double size_mult[] = {1e3, 1e6, 1e9, 1e12};
    double d;
    switch (s->kind) {
    case K_SECONDS:
        if (!parse_number(v, vn, "smhd", time_mult, &d) || d < 1 || d > 366 * 86400.0 ||
            d != floor(d))
            return fail(err, errlen, "%s: '%.*s' is not a whole duration from 1s to 366d", s->name,
                        (int)vn, v);
        *(int64_t *)at = (int64_t)d;
        return FLOE_OK;
    case K_LATENESS:
        if (vn == 4 && memcmp(v, "none", 4) == 0) {
            *(int64_t *)at = -1;
            return FLOE_OK;
        }
        if (!parse_number(v, vn, "smhd", time_mult, &d) || d < 0 || d > 366 * 86400.0 ||
            d != floor(d))
            return fail(err, errlen, "%s: '%.*s' is neither 'none' nor a whole duration up to 366d",
                        s->name, (int)vn, v);
        *(int64_t *)at = (int64_t)d;
        return FLOE_OK;
    case K_COUNT32:
    case K_COUNT64:
        if (!parse_number(v, vn, "KMGT", size_mult, &d) || d < 1 || d != floor(d) ||
            d > (s->kind == K_COUNT32 ? 4294967295.0 : 9.2e18))
            return fail(err, errlen, "%s: '%.*s' is not a whole number of at least 1", s->name,
                        (int)vn, v);
        if (s->kind == K_COUNT32)
            *(uint32_t *)at = (uint32_t)d;
        else
            *(uint64_t *)at = (uint64_t)d;
        return FLOE_OK;
    case K_REAL:
        if (!parse_number(v, vn, "", NULL, &d))
            return fail(err, errlen, "%s: '%.*s' is not a number", s->name, (int)vn, v);
        *(double *)at = d;
        return FLOE_OK;
    case K_PORTS: {
        uint8_t bits[65536 / 8] = {0};
        if (each_item(v, vn, add_port, bits) != FLOE_OK)
            return fail(err, errlen, "%s: '%.*s' is not a list of ports 0-65535", s->name, (int)vn,
                        v);
        memcpy(at, bits, sizeof bits);
        return FLOE_OK;
    }
    case K_LIST: {
        floe_cidr_set **slot = floe_detect_config_list(c, s->name);
        if (!slot) return FLOE_ERR_NOMEM;
        if (each_item(v, vn, add_cidr, *slot) != FLOE_OK)
            return fail(err, errlen, "%s: '%.*s' is not a list of addresses or CIDRs", s->name,
                        (int)vn, v);
        return FLOE_OK;
    }
    }
    return fail(err, errlen, "internal error");
}

typedef struct set_line_ctx {
    floe_detect_config *config;
    char *err;
    size_t errlen;
} set_line_ctx;

static floe_status set_line(void *ctx, const char *line, size_t len) {
    set_line_ctx *x = ctx;
    return floe_detect_config_set(x->config, line, len, x->err, x->errlen);
}

floe_status floe_detect_config_parse(floe_detect_config *c, const char *text, size_t len,
                                     uint64_t *bad_line, char *err, size_t errlen) {
    set_line_ctx x = {c, err, errlen};
    return floe_text_each_line(text, len, set_line, &x, bad_line);
}
