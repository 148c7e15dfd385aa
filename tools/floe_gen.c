/* floe-gen: writes a seeded, deterministic tree of AWS VPC Flow Logs with one planted instance
 * of every finding of shared/spec/detections.md, plus a JSON truth file and a threat list.
 *
 * Output, for `-o DIR`:
 *   DIR/AWSLogs/...      the S3-style tree (or DIR/exportedlogs/... for --layout cloudwatch);
 *                        point floe at this directory, not at DIR
 *   DIR/truth.json       what was generated (--truth FILE to move it)
 *   DIR/intel.txt        the threat list for MaliciousIPCaller.Custom (--intel-out FILE)
 *
 * truth.json schema (keys in this order, integers exact):
 *   generator: "floe-gen"
 *   params:   seed, format_name, format (field names), version (the version column), codec,
 *             level, layout, hourly, org_id|null, interval_s, start, end (ISO-8601 UTC), hours,
 *             accounts, enis, size_target, records_target, density, scan_mult, plants, tree,
 *             intel
 *   accounts: [{account_id, region, vpc_id, cidr, flow_log_id, export_task, enis}]
 *   totals:   files, header_lines, records, text_bytes (uncompressed, headers included),
 *             stored_bytes, plant_records, log_status {OK, NODATA, SKIPDATA},
 *             action {ACCEPT|REJECT|"-": {records, packets, bytes}}
 *   plants:   [{type, summary, threshold, direction, actor, actor_eni?, actor_instance?,
 *             account_id?, sources? (several external actors), targets[], target_eni?,
 *             target_instance?, protocol, ports[], action, window_start, window_end, first_seen,
 *             last_seen, connections, flows, records, packets, bytes, reply_packets,
 *             reply_bytes, distinct_ports, distinct_hosts, period_s? gap_cv? (beaconing),
 *             overlaps (other finding types whose literal thresholds the plant also meets)|null}]
 *   notes:    [strings]
 */
#include "floe_gen_internal.h"
#include "floe_text.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char usage_text[] =
    "usage: floe-gen -o DIR [options]\n"
    "\n"
    "Writes a seeded, deterministic tree of AWS VPC Flow Logs under DIR/AWSLogs (or\n"
    "DIR/exportedlogs for --layout cloudwatch), with one planted instance of every finding of\n"
    "detections.md, DIR/truth.json (what was written, exact totals) and DIR/intel.txt (the\n"
    "threat list). Same arguments and seed give a byte-identical tree, whatever --threads.\n"
    "\n"
    "  -o, --out DIR         output directory (created); DIR/AWSLogs must not exist yet\n"
    "  -s, --seed N          seed (default 1)\n"
    "      --size SIZE       about this much uncompressed text: 200M, 1.5G, 5000000 (K/M/G/T\n"
    "                        are powers of 1000; default 64M)\n"
    "      --records N       about N records instead of --size\n"
    "      --hours H         length of the run (default: 2 with plants, 3 if --start is not on a\n"
    "                        10-minute boundary, 1 without; more when the size needs it, so\n"
    "                        the mean ENI stays near 1000 records / 10 min)\n"
    "      --start TIME      first second, UTC, a multiple of 5 minutes (default\n"
    "                        2026-11-01T00:00Z; also YYYY-MM-DDTHH:MM:SSZ or YYYY-MM-DD)\n"
    "      --accounts N      accounts, one VPC and one flow log each (default 3)\n"
    "      --enis N          network interfaces over all accounts (default 300; 40% in the\n"
    "                        first account, which needs >= 40 for the plants)\n"
    "      --interval 1|10   aggregation interval in minutes (default 10)\n"
    "      --codec C         gzip (default), zstd or plain\n"
    "      --level N         compression level (default 6 for gzip, 1-12; 3 for zstd, 1-19)\n"
    "      --layout L        default:    "
    "AWSLogs/[org/]<acct>/vpcflowlogs/<region>/<y>/<m>/<d>/[<h>/]\n"
    "                        hive:       "
    "AWSLogs/[org/]aws-account-id=<acct>/aws-service=vpcflowlogs/\n"
    "                                    aws-region=<r>/year=<y>/month=<m>/day=<d>/[hour=<h>/]\n"
    "                        cloudwatch: exportedlogs/<task>/<eni>-all/000000.gz, one file an "
    "hour,\n"
    "                                    no header, lines '2026-11-01T00:05:00.000Z <record>'\n"
    "      --hourly          add the hour folder (S3 layouts)\n"
    "      --org-id ID       add an organisation segment after AWSLogs/ (o-[a-z0-9]{10,32})\n"
    "      --format F        v2 (default, 14 fields), v3, v5, v10 (every VPC field), all (with "
    "the\n"
    "                        transit gateway fields), or a list of field names in any order,\n"
    "                        separated by spaces or commas: --format \"srcaddr dstaddr action\"\n"
    "      --no-plants       background only\n"
    "      --lookalikes      also benign traffic shaped like attacks, which must raise no\n"
    "                        finding: a busy public web server, a NAT gateway fanning out on\n"
    "                        443, a host doing heavy DNS, a monitoring poller (truth.json's\n"
    "                        \"lookalikes\"); needs the plants\n"
    "      --truth FILE      truth file (default DIR/truth.json)\n"
    "      --intel-out FILE  threat list (default DIR/intel.txt)\n"
    "      --threads N       worker threads (default: online CPUs); output does not depend on it\n"
    "  -q, --quiet           no summary line\n"
    "  -h, --help            this text\n"
    "\n"
    "Files: one per flow log every 5 minutes, named for their delivery time\n"
    "<acct>_vpcflowlogs_<region>_<fl-id>_<YYYYMMDDTHHmmZ>_<hash>.log.gz (.log.zst, .log), text\n"
    "above 64 MiB compressed as several gzip members / zstd frames.\n";

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("floe-gen: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static uint64_t parse_u64(const char *opt, const char *s, uint64_t lo, uint64_t hi) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s || *end || s[0] == '-' || v < lo || v > hi)
        die("%s: expected an integer in %llu..%llu, got '%s'", opt, (unsigned long long)lo,
            (unsigned long long)hi, s);
    return v;
}

static uint64_t parse_size(const char *opt, const char *s) {
    double v;
    if (!floe_text_parse_size(s, 1000, &v) || v > 1e15)
        die("%s: expected a size like 200M or 1.5G, got '%s'", opt, s);
    return (uint64_t)v;
}

static int64_t days_from_civil(int y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153u * (unsigned)(m + (m > 2 ? -3 : 9)) + 2) / 5 + (unsigned)d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int64_t parse_time(const char *s) {
    int y, mo, d, h = 0, mi = 0, sec = 0, n = 0;
    size_t len = strlen(s);
    if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3) goto bad;
    if ((size_t)n < len) {
        int n2 = 0;
        if (s[n] != 'T' && s[n] != 't' && s[n] != ' ') goto bad;
        if (sscanf(s + n + 1, "%2d:%2d%n", &h, &mi, &n2) != 2) goto bad;
        n += 1 + n2;
        if (s[n] == ':') {
            if (sscanf(s + n + 1, "%2d%n", &sec, &n2) != 1) goto bad;
            n += 1 + n2;
        }
        if (s[n] == 'Z' || s[n] == 'z') n++;
        if ((size_t)n != len) goto bad;
    }
    if (y < 1970 || y > 2200 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
        sec > 59)
        goto bad;
    return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
bad:
    die("--start: expected a UTC time like 2026-11-01T00:00Z, got '%s'", s);
}

static const char fmt_v3[] =
    "version vpc-id subnet-id instance-id interface-id account-id type srcaddr dstaddr srcport "
    "dstport pkt-srcaddr pkt-dstaddr protocol bytes packets start end action tcp-flags log-status";
static const char fmt_v5_tail[] = " region az-id sublocation-type sublocation-id "
                                  "pkt-src-aws-service pkt-dst-aws-service flow-direction "
                                  "traffic-path";
static const char fmt_v10_tail[] =
    " ecs-cluster-arn ecs-cluster-name ecs-container-instance-arn ecs-container-instance-id "
    "ecs-container-id ecs-second-container-id ecs-service-name ecs-task-definition-arn "
    "ecs-task-arn ecs-task-id reject-reason resource-id encryption-status";

static void parse_format(floe_gen_opts *o, const char *spec) {
    static char buf[4096];
    o->format_name = "custom";
    if (!strcmp(spec, "v2") || !strcmp(spec, "default")) {
        snprintf(buf, sizeof buf, "%s", FLOE_DEFAULT_FORMAT);
        o->format_name = "v2";
    } else if (!strcmp(spec, "v3")) {
        snprintf(buf, sizeof buf, "%s", fmt_v3);
        o->format_name = "v3";
    } else if (!strcmp(spec, "v5")) {
        snprintf(buf, sizeof buf, "%s%s", fmt_v3, fmt_v5_tail);
        o->format_name = "v5";
    } else if (!strcmp(spec, "v10")) {
        snprintf(buf, sizeof buf, "%s%s%s", fmt_v3, fmt_v5_tail, fmt_v10_tail);
        o->format_name = "v10";
    } else if (!strcmp(spec, "all")) {
        size_t at = 0;
        for (int i = 0; i < FLOE_FIELD_COUNT; i++)
            at += (size_t)snprintf(buf + at, sizeof buf - at, "%s%s", i ? " " : "",
                                   floe_field_name((floe_field)i));
        o->format_name = "all";
    } else {
        if (strlen(spec) >= sizeof buf) die("--format: too long");
        snprintf(buf, sizeof buf, "%s", spec);
    }
    bool seen[FLOE_FIELD_COUNT] = {0};
    o->nfields = 0;
    for (char *p = buf; *p;) {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        if (!*p) break;
        char *q = p;
        while (*q && *q != ' ' && *q != ',' && *q != '\t')
            q++;
        floe_field f = floe_field_lookup(p, (size_t)(q - p));
        if (f == FLOE_F_UNKNOWN)
            die("--format: unknown field '%.*s' (names are AWS's, e.g. srcaddr, log-status)",
                (int)(q - p), p);
        if (seen[f]) die("--format: field '%s' appears twice", floe_field_name(f));
        seen[f] = true;
        o->fields[o->nfields++] = (uint8_t)f;
        p = q;
    }
    if (!o->nfields) die("--format: no fields");
}

static bool valid_org(const char *s) {
    size_t n = strlen(s);
    if (n < 12 || n > 34 || s[0] != 'o' || s[1] != '-') return false;
    for (size_t i = 2; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9'))) return false;
    return true;
}

static char *path_join(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (!p) die("out of memory");
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

enum {
    OPT_SIZE = 256,
    OPT_RECORDS,
    OPT_HOURS,
    OPT_START,
    OPT_ACCOUNTS,
    OPT_ENIS,
    OPT_INTERVAL,
    OPT_CODEC,
    OPT_LEVEL,
    OPT_LAYOUT,
    OPT_HOURLY,
    OPT_ORG,
    OPT_FORMAT,
    OPT_NO_PLANTS,
    OPT_LOOKALIKES,
    OPT_TRUTH,
    OPT_INTEL,
    OPT_THREADS
};

static void parse_args(int argc, char **argv, floe_gen_opts *o) {
    static const struct option longs[] = {
        {"out", required_argument, NULL, 'o'},
        {"seed", required_argument, NULL, 's'},
        {"size", required_argument, NULL, OPT_SIZE},
        {"records", required_argument, NULL, OPT_RECORDS},
        {"hours", required_argument, NULL, OPT_HOURS},
        {"start", required_argument, NULL, OPT_START},
        {"accounts", required_argument, NULL, OPT_ACCOUNTS},
        {"enis", required_argument, NULL, OPT_ENIS},
        {"interval", required_argument, NULL, OPT_INTERVAL},
        {"codec", required_argument, NULL, OPT_CODEC},
        {"level", required_argument, NULL, OPT_LEVEL},
        {"layout", required_argument, NULL, OPT_LAYOUT},
        {"hourly", no_argument, NULL, OPT_HOURLY},
        {"org-id", required_argument, NULL, OPT_ORG},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"no-plants", no_argument, NULL, OPT_NO_PLANTS},
        {"lookalikes", no_argument, NULL, OPT_LOOKALIKES},
        {"truth", required_argument, NULL, OPT_TRUTH},
        {"intel-out", required_argument, NULL, OPT_INTEL},
        {"threads", required_argument, NULL, OPT_THREADS},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    o->seed = 1;
    o->start = parse_time("2026-11-01T00:00Z");
    o->accounts = 3;
    o->enis = 300;
    o->interval = 600;
    o->codec = FLOE_GEN_CODEC_GZIP;
    o->level = -1;
    o->layout = FLOE_GEN_LAYOUT_DEFAULT;
    o->plants = true;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    o->threads = cpus > 0 ? (uint32_t)(cpus < 64 ? cpus : 64) : 1;
    const char *format = "v2";
    int c;
    while ((c = getopt_long(argc, argv, "o:s:qh", longs, NULL)) != -1) {
        switch (c) {
        case 'o':
            o->out_dir = optarg;
            break;
        case 's':
            o->seed = parse_u64("--seed", optarg, 0, UINT64_MAX);
            break;
        case OPT_SIZE:
            o->size_bytes = parse_size("--size", optarg), o->records_target = 0;
            break;
        case OPT_RECORDS:
            o->records_target = parse_u64("--records", optarg, 1, 100000000000ULL);
            o->size_bytes = 0;
            break;
        case OPT_HOURS:
            o->hours = (uint32_t)parse_u64("--hours", optarg, 1, 24 * 366);
            break;
        case OPT_START:
            o->start = parse_time(optarg);
            break;
        case OPT_ACCOUNTS:
            o->accounts = (uint32_t)parse_u64("--accounts", optarg, 1, 200);
            break;
        case OPT_ENIS:
            o->enis = (uint32_t)parse_u64("--enis", optarg, 12, 200000);
            break;
        case OPT_INTERVAL: {
            uint64_t m = parse_u64("--interval", optarg, 1, 10);
            if (m != 1 && m != 10) die("--interval: 1 or 10 (minutes), got '%s'", optarg);
            o->interval = (uint32_t)m * 60;
            break;
        }
        case OPT_CODEC:
            if (!strcmp(optarg, "gzip") || !strcmp(optarg, "gz"))
                o->codec = FLOE_GEN_CODEC_GZIP;
            else if (!strcmp(optarg, "zstd") || !strcmp(optarg, "zst"))
                o->codec = FLOE_GEN_CODEC_ZSTD;
            else if (!strcmp(optarg, "plain") || !strcmp(optarg, "none"))
                o->codec = FLOE_GEN_CODEC_PLAIN;
            else
                die("--codec: gzip, zstd or plain, got '%s'", optarg);
            break;
        case OPT_LEVEL:
            o->level = (int)parse_u64("--level", optarg, 1, 19);
            break;
        case OPT_LAYOUT:
            if (!strcmp(optarg, "default"))
                o->layout = FLOE_GEN_LAYOUT_DEFAULT;
            else if (!strcmp(optarg, "hive"))
                o->layout = FLOE_GEN_LAYOUT_HIVE;
            else if (!strcmp(optarg, "cloudwatch"))
                o->layout = FLOE_GEN_LAYOUT_CLOUDWATCH;
            else
                die("--layout: default, hive or cloudwatch, got '%s'", optarg);
            break;
        case OPT_HOURLY:
            o->hourly = true;
            break;
        case OPT_ORG:
            if (!valid_org(optarg)) die("--org-id: expected o-[a-z0-9]{10,32}, got '%s'", optarg);
            o->org_id = optarg;
            break;
        case OPT_FORMAT:
            format = optarg;
            break;
        case OPT_NO_PLANTS:
            o->plants = false;
            break;
        case OPT_LOOKALIKES:
            o->lookalikes = true;
            break;
        case OPT_TRUTH:
            o->truth_path = optarg;
            break;
        case OPT_INTEL:
            o->intel_path = optarg;
            break;
        case OPT_THREADS:
            o->threads = (uint32_t)parse_u64("--threads", optarg, 1, 256);
            break;
        case 'q':
            o->quiet = true;
            break;
        case 'h':
            fputs(usage_text, stdout);
            exit(0);
        default:
            fputs(usage_text, stderr);
            exit(2);
        }
    }
    if (optind < argc) die("unexpected argument '%s' (see --help)", argv[optind]);
    if (!o->out_dir || !*o->out_dir) die("-o DIR is required (see --help)");
    if (!o->size_bytes && !o->records_target) o->size_bytes = 64000000;
    if (o->level < 0) o->level = o->codec == FLOE_GEN_CODEC_ZSTD ? 3 : 6;
    if (o->codec == FLOE_GEN_CODEC_GZIP && o->level > 12) die("--level: gzip levels are 1..12");
    if (o->start % FLOE_GEN_SLOT_SECONDS) die("--start: must be a multiple of 5 minutes");
    parse_format(o, format);
    if (!o->truth_path) o->truth_path = o->owned_paths[0] = path_join(o->out_dir, "truth.json");
    if (!o->intel_path) o->intel_path = o->owned_paths[1] = path_join(o->out_dir, "intel.txt");
}

/* Windows over all ENIs for a run of `hours`, the unit the calibration is per. */
static double total_windows(const floe_gen_world *w, uint32_t hours) {
    return (double)w->nenis * ((double)hours * 3600.0 / w->o->interval + 1.0);
}

/* Density that makes the run about the requested size, for a scanner multiplier. */
static double density_for(const floe_gen_world *w, uint32_t hours, const floe_gen_cal *cal,
                          double scan_mult) {
    const floe_gen_opts *o = w->o;
    double wn = total_windows(w, hours);
    double d;
    if (o->size_bytes) {
        double files =
            o->layout == FLOE_GEN_LAYOUT_CLOUDWATCH ? 0 : (double)w->naccounts * hours * 12;
        double want = (double)o->size_bytes - files * w->header_len - wn * cal->bytes[0];
        double per = cal->bytes[1] + scan_mult * cal->bytes[2];
        d = per > 0 ? want / (wn * per) : 1;
    } else {
        double want = (double)o->records_target - wn * cal->recs[0];
        double per = cal->recs[1] + scan_mult * cal->recs[2];
        d = per > 0 ? want / (wn * per) : 1;
    }
    return d < 1e-3 ? 1e-3 : d;
}

/* Scanner multiplier that makes REJECTs (scanner records) ~7.5% of OK records at density d;
 * extra_ok: other OK records per window (the plants). */
static double scan_mult_for(const floe_gen_cal *cal, double d, double extra_ok) {
    if (cal->recs[2] <= 0) return 1;
    double m = 0.075 * (cal->ok[0] + d * cal->ok[1] + extra_ok) / (0.925 * d * cal->recs[2]);
    return m < 0.2 ? 0.2 : m > 100 ? 100 : m;
}

/* Density and scanner multiplier for a number of hours (a few fixed-point rounds). */
static double solve(const floe_gen_world *w, uint32_t hours, const floe_gen_cal *cal,
                    double *scan_mult) {
    double m = 1, d = 1;
    for (int i = 0; i < 8; i++) {
        d = density_for(w, hours, cal, m);
        m = scan_mult_for(cal, d, 0);
    }
    *scan_mult = m;
    return d;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    floe_gen_opts o;
    parse_args(argc, argv, &o);
    char err[512];

    char *root = path_join(o.out_dir, floe_gen_tree_root(&o));
    struct stat sb;
    if (stat(root, &sb) == 0)
        die("%s already exists: remove it or choose another -o (a stale tree would mix with "
            "the new one)",
            root);

    floe_gen_world *w = floe_gen_world_build(&o, err, sizeof err);
    if (!w) die("%s", err);

    /* The version column and the header line. */
    int version = 2;
    size_t hlen = 1;
    for (uint32_t i = 0; i < o.nfields; i++) {
        int v = floe_field_version((floe_field)o.fields[i]);
        if (v > version) version = v;
        hlen += strlen(floe_field_name((floe_field)o.fields[i])) + 1;
    }
    snprintf(w->version_str, sizeof w->version_str, "%d", version);
    w->header = malloc(hlen);
    if (!w->header) die("out of memory");
    size_t at = 0;
    for (uint32_t i = 0; i < o.nfields; i++)
        at += (size_t)sprintf(w->header + at, "%s%s", i ? " " : "",
                              floe_field_name((floe_field)o.fields[i]));
    w->header[at++] = '\n';
    w->header_len = (uint32_t)at;

    /* Hours and density: calibrate per-window text at density 1, then solve for the size. */
    if (o.lookalikes && !o.plants) die("--lookalikes goes with the plants: drop --no-plants");
    const uint32_t min_hours = o.plants ? (o.start % 600 ? 3 : 2) : 1;
    uint32_t hours = o.hours ? o.hours : min_hours;
    if (o.plants && hours < min_hours)
        die("plants need --hours >= %u (a 1-hour baseline, then more plants); or use --no-plants",
            min_hours);
    floe_gen_world_set_hours(w, hours);
    w->density = 1;
    w->scan_mult = 1;
    floe_gen_cal cal;
    floe_gen_calibrate(w, &cal);
    double m;
    double d = solve(w, hours, &cal, &m);
    if (!o.hours) {
        /* Keep ENIs near real-world rates (density 1: ~1000 records per ENI per 10 min). */
        while (d > 1.0 && hours < 24 * 366) {
            uint32_t nh = (uint32_t)ceil(hours * d);
            hours = nh > hours ? nh : hours + 1;
            if (hours > 24 * 366) hours = 24 * 366;
            d = solve(w, hours, &cal, &m);
        }
        floe_gen_world_set_hours(w, hours);
    }
    w->density = d;
    w->scan_mult = m;
    if (d > 4 && !o.quiet)
        fprintf(stderr,
                "floe-gen: warning: %.1fx the usual traffic per ENI; per-peer caps may keep the "
                "tree below the requested size (raise --hours or --enis)\n",
                d);

    if (o.plants) {
        if (floe_gen_plants_build(w, err, sizeof err)) die("%s", err);
        /* Plants are all ACCEPT: make room for them in the REJECT share. */
        w->scan_mult = scan_mult_for(&cal, d, w->nplant_recs / total_windows(w, hours));
    }

    int rc = floe_gen_mkdirs(o.out_dir, true);
    if (rc) die("cannot create %s: %s", o.out_dir, strerror(-rc));
    double t_start = now_s();
    floe_gen_result res;
    if (floe_gen_write_tree(w, &res)) die("%s", res.err);
    double secs = now_s() - t_start;

    size_t jlen = 0;
    char *json = floe_gen_truth_json(w, &res, &jlen);
    if (!json) die("out of memory");
    rc = floe_gen_write_file(o.truth_path, json, jlen);
    if (rc) die("writing %s: %s", o.truth_path, strerror(-rc));
    free(json);
    const char *intel = floe_gen_intel_text();
    rc = floe_gen_write_file(o.intel_path, intel, strlen(intel));
    if (rc) die("writing %s: %s", o.intel_path, strerror(-rc));

    if (!o.quiet) {
        double mb = (double)res.total.text_bytes / 1e6;
        fprintf(stderr, "floe-gen: %llu files, %llu records, %.1f MB text in %.2f s (%.0f MB/s)\n",
                (unsigned long long)res.total.files, (unsigned long long)res.total.records, mb,
                secs, secs > 0 ? mb / secs : 0.0);
    }
    floe_gen_world_free(w);
    free(root);
    free(o.owned_paths[0]);
    free(o.owned_paths[1]);
    return 0;
}
