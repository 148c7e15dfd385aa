#include "floe_s3key.h"

#include <assert.h>
#include <string.h>

/* The deepest S3 key below its anchor: org, account, service, region, year, month, day, hour
 * and the file name, so the anchor is at most this many components above the file. Nothing
 * further up can matter, which is what keeps the work bounded by the key, not the prefix. */
#define MAX_BELOW_ANCHOR 9

/* Components counted from the end of the path: comp[0] is the file name. */
typedef struct components {
    floe_s3key_span comp[MAX_BELOW_ANCHOR + 1];
    int count;
} components;

/* A civil date and time, as read from folders or a file name. */
typedef struct civil {
    int year, month, day, hour, minute;
} civil;

static bool is_digit(char c) {
    return (unsigned)(c - '0') <= 9;
}
static bool is_lower_alnum(char c) {
    return is_digit(c) || (unsigned)(c - 'a') < 26;
}
static bool is_lower_hex(char c) {
    return is_digit(c) || (unsigned)(c - 'a') < 6;
}

static floe_s3key_span span_of(uint32_t off, uint32_t len) {
    floe_s3key_span s = {off, len};
    return s;
}

static bool span_is(const char *path, floe_s3key_span s, const char *lit) {
    size_t n = strlen(lit);
    return s.len == n && memcmp(path + s.off, lit, n) == 0;
}

static bool span_equal(const char *path, floe_s3key_span a, floe_s3key_span b) {
    return a.len == b.len && memcmp(path + a.off, path + b.off, a.len) == 0;
}

/* When s starts with key (a Hive "name="), narrows *value to what follows it. */
static bool hive_value(const char *path, floe_s3key_span s, const char *key,
                       floe_s3key_span *value) {
    size_t n = strlen(key);
    if (s.len < n || memcmp(path + s.off, key, n) != 0) return false;
    *value = span_of(s.off + (uint32_t)n, s.len - (uint32_t)n);
    return true;
}

/* The value of exactly `digits` decimal digits, or -1. digits <= 4, so no overflow. */
static int fixed_number(const char *p, uint32_t len, uint32_t digits) {
    if (len != digits) return -1;
    int value = 0;
    for (uint32_t i = 0; i < digits; i++) {
        if (!is_digit(p[i])) return -1;
        value = value * 10 + (p[i] - '0');
    }
    return value;
}

static bool is_account(const char *p, uint32_t len) {
    if (len != 12) return false;
    for (uint32_t i = 0; i < len; i++)
        if (!is_digit(p[i])) return false;
    return true;
}

static bool is_org_id(const char *p, uint32_t len) {
    if (len < 2 + 10 || len > 2 + 32 || p[0] != 'o' || p[1] != '-') return false;
    for (uint32_t i = 2; i < len; i++)
        if (!is_lower_alnum(p[i])) return false;
    return true;
}

/* Region codes are lowercase words and digits joined by single dashes, ending in a number:
 * us-east-1, us-gov-west-1, ap-southeast-2, eusc-de-east-1. */
static bool is_region(const char *p, uint32_t len) {
    if (len < 4 || len > 32 || (unsigned)(p[0] - 'a') >= 26 || !is_digit(p[len - 1])) return false;
    bool dash = false;
    for (uint32_t i = 0; i < len; i++) {
        if (p[i] == '-') {
            if (p[i - 1] == '-') return false; /* i > 0: p[0] is a letter */
            dash = true;
        } else if (!is_lower_alnum(p[i])) {
            return false;
        }
    }
    return dash;
}

/* fl- and 8 (older ids) to 17 (today's) hex digits; up to 32 lowercase letters and digits are
 * let through in case AWS lengthens resource ids again, as it did in 2016-2018. */
static bool is_flow_log_id(const char *p, uint32_t len) {
    if (len < 3 + 8 || len > 3 + 32 || memcmp(p, "fl-", 3) != 0) return false;
    for (uint32_t i = 3; i < len; i++)
        if (!is_lower_alnum(p[i])) return false;
    return true;
}

static bool is_leap(int year) {
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int days_in_month(int year, int month) {
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return month == 2 && is_leap(year) ? 29 : days[month - 1];
}

/* Years before 1970 are refused: no flow log is that old, and it keeps times non-negative. */
static bool civil_date_valid(const civil *c) {
    return c->year >= 1970 && c->year <= 9999 && c->month >= 1 && c->month <= 12 && c->day >= 1 &&
           c->day <= days_in_month(c->year, c->month);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil);
 * libc's timegm is not C11 and mktime depends on the local time zone. */
static int64_t days_from_civil(int year, int month, int day) {
    int64_t y = year - (month <= 2);
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The inverse, for days >= 0. */
static void civil_from_days(int64_t days, civil *out) {
    days += 719468;
    int64_t era = days / 146097;
    int64_t doe = days - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t month = mp < 10 ? mp + 3 : mp - 9;
    out->year = (int)(yoe + era * 400 + (month <= 2));
    out->month = (int)month;
    out->day = (int)(doy - (153 * mp + 2) / 5 + 1);
}

/* "YYYYMMDDTHHmmZ", exactly. */
static bool parse_file_time(const char *p, uint32_t len, civil *out) {
    if (len != 14 || p[8] != 'T' || p[13] != 'Z') return false;
    out->year = fixed_number(p, 4, 4);
    out->month = fixed_number(p + 4, 2, 2);
    out->day = fixed_number(p + 6, 2, 2);
    out->hour = fixed_number(p + 9, 2, 2);
    out->minute = fixed_number(p + 11, 2, 2);
    return civil_date_valid(out) && out->hour >= 0 && out->hour <= 23 && out->minute >= 0 &&
           out->minute <= 59;
}

/* Splits the path into components from its end, at most MAX_BELOW_ANCHOR + 1 of them. */
static void split_from_end(const char *path, uint32_t len, components *out) {
    out->count = 0;
    uint32_t end = len;
    for (;;) {
        uint32_t start = end;
        while (start > 0 && path[start - 1] != '/')
            start--;
        out->comp[out->count++] = span_of(start, end - start);
        if (start == 0 || out->count == MAX_BELOW_ANCHOR + 1) return;
        end = start - 1;
    }
}

/* <acct>_vpcflowlogs_<region>_<fl-id>_<YYYYMMDDTHHmmZ>_<hash><ext>; ext is anything from the
 * first '.' after the hash. */
static floe_s3key_reason parse_file_name(const char *path, floe_s3key_span name,
                                         floe_s3key_span part[6], civil *when) {
    uint32_t at = name.off, end = name.off + name.len;
    for (int i = 0; i < 5; i++) {
        uint32_t start = at;
        while (at < end && path[at] != '_')
            at++;
        if (at == end) return FLOE_S3KEY_BAD_FILE_NAME;
        part[i] = span_of(start, at - start);
        at++; /* the '_' */
    }
    uint32_t hash_start = at;
    while (at < end && path[at] != '.')
        at++;
    part[5] = span_of(hash_start, at - hash_start);

    if (!is_account(path + part[0].off, part[0].len) || !span_is(path, part[1], "vpcflowlogs") ||
        !is_region(path + part[2].off, part[2].len))
        return FLOE_S3KEY_BAD_FILE_NAME;
    if (!is_flow_log_id(path + part[3].off, part[3].len)) return FLOE_S3KEY_BAD_FLOW_LOG_ID;
    if (!parse_file_time(path + part[4].off, part[4].len, when)) return FLOE_S3KEY_BAD_TIME;
    if (part[5].len == 0 || part[5].len > 64) return FLOE_S3KEY_BAD_FILE_NAME;
    for (uint32_t i = 0; i < part[5].len; i++)
        if (!is_lower_alnum(path[part[5].off + i])) return FLOE_S3KEY_BAD_FILE_NAME;
    return FLOE_S3KEY_OK;
}

/* below[0..nbelow) are the components under an AWSLogs anchor, top-down, the file last. */
static floe_s3key_reason parse_s3(const char *path, const floe_s3key_span *below, int nbelow,
                                  floe_s3key *out) {
    int i = 0;
    if (nbelow > 0 && below[0].len >= 2 && memcmp(path + below[0].off, "o-", 2) == 0) {
        if (!is_org_id(path + below[0].off, below[0].len)) return FLOE_S3KEY_BAD_ORG_ID;
        out->org_id = below[0];
        i = 1;
    }
    /* account, service, region, year, month, day, [hour], file */
    if (nbelow - i != 7 && nbelow - i != 8) return FLOE_S3KEY_BAD_DEPTH;
    out->hourly = nbelow - i == 8;

    /* The account folder tells the two apart; the rest must then follow the same layout. */
    floe_s3key_span value;
    bool hive = hive_value(path, below[i], "aws-account-id=", &value);
    out->account = hive ? value : below[i];
    if (!is_account(path + out->account.off, out->account.len)) return FLOE_S3KEY_BAD_ACCOUNT;
    i++;
    if (!span_is(path, below[i], hive ? "aws-service=vpcflowlogs" : "vpcflowlogs"))
        return FLOE_S3KEY_BAD_SERVICE;
    i++;
    value = below[i];
    if (hive && !hive_value(path, below[i], "aws-region=", &value)) return FLOE_S3KEY_BAD_REGION;
    if (!is_region(path + value.off, value.len)) return FLOE_S3KEY_BAD_REGION;
    out->region = value;
    i++;

    static const char *const hive_keys[4] = {"year=", "month=", "day=", "hour="};
    static const uint32_t widths[4] = {4, 2, 2, 2};
    int folder[4] = {0, 0, 0, 0};
    for (int f = 0; f < (out->hourly ? 4 : 3); f++, i++) {
        value = below[i];
        if (hive && !hive_value(path, below[i], hive_keys[f], &value))
            return FLOE_S3KEY_BAD_DATE_FOLDER;
        folder[f] = fixed_number(path + value.off, value.len, widths[f]);
        if (folder[f] < 0) return FLOE_S3KEY_BAD_DATE_FOLDER;
    }
    civil dir = {folder[0], folder[1], folder[2], folder[3], 0};
    if (!civil_date_valid(&dir) || dir.hour > 23) return FLOE_S3KEY_BAD_DATE_FOLDER;

    floe_s3key_span part[6];
    civil when;
    out->file_name = below[i];
    floe_s3key_reason r = parse_file_name(path, out->file_name, part, &when);
    if (r != FLOE_S3KEY_OK) return r;
    if (!span_equal(path, out->account, part[0])) return FLOE_S3KEY_ACCOUNT_MISMATCH;
    if (!span_equal(path, out->region, part[2])) return FLOE_S3KEY_REGION_MISMATCH;
    if (dir.year != when.year || dir.month != when.month || dir.day != when.day ||
        (out->hourly && dir.hour != when.hour))
        return FLOE_S3KEY_DATE_MISMATCH;

    out->layout = hive ? FLOE_S3KEY_HIVE : FLOE_S3KEY_DEFAULT;
    out->flow_log_id = part[3];
    out->hash = part[5];
    out->has_time = true;
    out->time = days_from_civil(when.year, when.month, when.day) * 86400 + when.hour * 3600 +
                when.minute * 60;
    return FLOE_S3KEY_OK;
}

/* Task ids are UUIDs today, but any name S3 can hold is kept; CloudWatch forbids ':' and '*'
 * in stream names. Control bytes, "." and ".." are refused in both: no export writes them. */
static bool is_export_name(const char *p, uint32_t len) {
    if (len == 0 || len > 512 || (len == 1 && p[0] == '.') || (len == 2 && !memcmp(p, "..", 2)))
        return false;
    for (uint32_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c < 0x20 || c == 0x7f || c == ':' || c == '*') return false;
    }
    return true;
}

/* below = task, log stream, chunk file. */
static floe_s3key_reason parse_cloudwatch(const char *path, const floe_s3key_span *below,
                                          int nbelow, floe_s3key *out) {
    if (nbelow != 3) return FLOE_S3KEY_BAD_DEPTH;
    floe_s3key_span task = below[0], stream = below[1], file = below[2];
    if (!is_export_name(path + task.off, task.len) ||
        !is_export_name(path + stream.off, stream.len))
        return FLOE_S3KEY_BAD_EXPORT;
    /* Chunks are numbered 000000, 000001, ...; the extension follows the codec. */
    if (file.len < 6 || (file.len > 6 && path[file.off + 6] != '.')) return FLOE_S3KEY_BAD_EXPORT;
    for (uint32_t i = 0; i < 6; i++)
        if (!is_digit(path[file.off + i])) return FLOE_S3KEY_BAD_EXPORT;

    /* VPC flow logs name their streams for the interface: eni-<hex>[-all|-accept|-reject]. */
    const char *s = path + stream.off;
    if (stream.len > 4 && memcmp(s, "eni-", 4) == 0) {
        uint32_t n = 4;
        while (n < stream.len && is_lower_hex(s[n]))
            n++;
        if (n - 4 >= 8 && n - 4 <= 32 && (n == stream.len || s[n] == '-'))
            out->interface_id = span_of(stream.off, n);
    }
    out->layout = FLOE_S3KEY_CLOUDWATCH;
    out->task = task;
    out->log_stream = stream;
    out->file_name = file;
    return FLOE_S3KEY_OK;
}

floe_s3key_layout floe_s3key_parse(const char *path, size_t path_len, floe_s3key *out) {
    assert(out != NULL);
    assert(path != NULL || path_len == 0);
    memset(out, 0, sizeof *out);
    out->reason = FLOE_S3KEY_NO_ANCHOR;
    if (path_len > FLOE_S3KEY_PATH_MAX) {
        out->reason = FLOE_S3KEY_TOO_LONG;
        return FLOE_S3KEY_UNRECOGNISED;
    }
    if (path == NULL || path_len == 0) return FLOE_S3KEY_UNRECOGNISED;

    components c;
    split_from_end(path, (uint32_t)path_len, &c);

    /* The nearest anchor wins (a prefix may itself hold an AWSLogs folder); a farther one is
     * tried only when a nearer one does not parse, which can happen when a CloudWatch log
     * stream or task is itself named AWSLogs or exportedlogs. The first failure is reported,
     * being the most specific. */
    floe_s3key_reason first_failure = FLOE_S3KEY_NO_ANCHOR;
    for (int k = 1; k < c.count; k++) {
        bool s3 = span_is(path, c.comp[k], "AWSLogs");
        if (!s3 && !span_is(path, c.comp[k], "exportedlogs")) continue;
        floe_s3key_span below[MAX_BELOW_ANCHOR];
        for (int j = 0; j < k; j++)
            below[j] = c.comp[k - 1 - j];
        floe_s3key attempt;
        memset(&attempt, 0, sizeof attempt);
        floe_s3key_reason r =
            s3 ? parse_s3(path, below, k, &attempt) : parse_cloudwatch(path, below, k, &attempt);
        if (r == FLOE_S3KEY_OK) {
            attempt.reason = FLOE_S3KEY_OK;
            attempt.anchor = c.comp[k];
            *out = attempt;
            return out->layout;
        }
        if (first_failure == FLOE_S3KEY_NO_ANCHOR) first_failure = r;
    }
    out->reason = first_failure;
    return FLOE_S3KEY_UNRECOGNISED;
}

size_t floe_s3key_format_time(int64_t unix_seconds, char *buf, size_t buf_len) {
    /* 1970-01-01T00:00Z .. 9999-12-31T23:59Z, the years four digits can spell. */
    if (buf == NULL || buf_len < FLOE_S3KEY_TIME_LEN || unix_seconds < 0 ||
        unix_seconds > INT64_C(253402300799))
        return 0;
    civil c;
    civil_from_days(unix_seconds / 86400, &c);
    int64_t in_day = unix_seconds % 86400;
    c.hour = (int)(in_day / 3600);
    c.minute = (int)(in_day % 3600 / 60);
    const int fields[5] = {c.year, c.month, c.day, c.hour, c.minute};
    const int widths[5] = {4, 2, 2, 2, 2};
    size_t at = 0;
    for (int f = 0; f < 5; f++) {
        if (f == 3) buf[at++] = 'T';
        for (int w = widths[f] - 1, v = fields[f]; w >= 0; w--, v /= 10)
            buf[at + (size_t)w] = (char)('0' + v % 10);
        at += (size_t)widths[f];
    }
    buf[at++] = 'Z';
    buf[at] = '\0';
    return at;
}

const char *floe_s3key_layout_name(floe_s3key_layout layout) {
    switch (layout) {
    case FLOE_S3KEY_UNRECOGNISED:
        return "unrecognised";
    case FLOE_S3KEY_DEFAULT:
        return "default";
    case FLOE_S3KEY_HIVE:
        return "hive";
    case FLOE_S3KEY_CLOUDWATCH:
        return "cloudwatch";
    }
    return "unrecognised";
}

const char *floe_s3key_reason_str(floe_s3key_reason reason) {
    switch (reason) {
    case FLOE_S3KEY_OK:
        return "ok";
    case FLOE_S3KEY_NO_ANCHOR:
        return "no AWSLogs/ or exportedlogs/ folder above the file";
    case FLOE_S3KEY_TOO_LONG:
        return "path too long";
    case FLOE_S3KEY_BAD_DEPTH:
        return "wrong number of folders below AWSLogs/ or exportedlogs/";
    case FLOE_S3KEY_BAD_ORG_ID:
        return "malformed organisation id folder";
    case FLOE_S3KEY_BAD_ACCOUNT:
        return "malformed account folder";
    case FLOE_S3KEY_BAD_SERVICE:
        return "service folder is not vpcflowlogs";
    case FLOE_S3KEY_BAD_REGION:
        return "malformed region folder";
    case FLOE_S3KEY_BAD_DATE_FOLDER:
        return "malformed date or hour folder";
    case FLOE_S3KEY_BAD_FILE_NAME:
        return "malformed file name";
    case FLOE_S3KEY_BAD_FLOW_LOG_ID:
        return "malformed flow log id in file name";
    case FLOE_S3KEY_BAD_TIME:
        return "malformed time in file name";
    case FLOE_S3KEY_ACCOUNT_MISMATCH:
        return "account folder differs from file name";
    case FLOE_S3KEY_REGION_MISMATCH:
        return "region folder differs from file name";
    case FLOE_S3KEY_DATE_MISMATCH:
        return "date folders differ from file name time";
    case FLOE_S3KEY_BAD_EXPORT:
        return "malformed CloudWatch export task, stream or chunk name";
    }
    return "unknown reason";
}
