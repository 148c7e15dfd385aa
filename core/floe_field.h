/* floe_field.h: the table of every VPC Flow Logs field floe knows (versions 2 to 10, plus the
 * Transit Gateway fields of version 6), with the value type each one is parsed into.
 *
 * The table is an X-macro so the enum, the names and the types can never drift apart. Field
 * names are AWS's (with hyphens); the Athena column name is the same with underscores. */
#ifndef FLOE_FIELD_H
#define FLOE_FIELD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How a field's text is turned into a value, and which column array holds it. */
typedef enum floe_type {
    FLOE_T_U8 = 0,   /* small integer 0..255 -> uint8_t */
    FLOE_T_U16 = 1,  /* port 0..65535 -> uint16_t */
    FLOE_T_U64 = 2,  /* counter -> uint64_t */
    FLOE_T_TIME = 3, /* Unix time; milliseconds (> 2^31-1) are divided down -> int64_t seconds */
    FLOE_T_ADDR = 4, /* IPv4 or IPv6 -> floe_addr (IPv4 stored as ::ffff:a.b.c.d) */
    FLOE_T_ENUM = 5, /* one of a closed set of words -> uint8_t (0 is null) */
    FLOE_T_STR = 6   /* anything else -> floe_slice pointing into the input */
} floe_type;

/*  X(ID, "aws-name", version, type) */
#define FLOE_FIELD_TABLE(X)                                                                        \
    X(VERSION, "version", 2, FLOE_T_U8)                                                            \
    X(ACCOUNT_ID, "account-id", 2, FLOE_T_STR)                                                     \
    X(INTERFACE_ID, "interface-id", 2, FLOE_T_STR)                                                 \
    X(SRCADDR, "srcaddr", 2, FLOE_T_ADDR)                                                          \
    X(DSTADDR, "dstaddr", 2, FLOE_T_ADDR)                                                          \
    X(SRCPORT, "srcport", 2, FLOE_T_U16)                                                           \
    X(DSTPORT, "dstport", 2, FLOE_T_U16)                                                           \
    X(PROTOCOL, "protocol", 2, FLOE_T_U8)                                                          \
    X(PACKETS, "packets", 2, FLOE_T_U64)                                                           \
    X(BYTES, "bytes", 2, FLOE_T_U64)                                                               \
    X(START, "start", 2, FLOE_T_TIME)                                                              \
    X(END, "end", 2, FLOE_T_TIME)                                                                  \
    X(ACTION, "action", 2, FLOE_T_ENUM)                                                            \
    X(LOG_STATUS, "log-status", 2, FLOE_T_ENUM)                                                    \
    X(VPC_ID, "vpc-id", 3, FLOE_T_STR)                                                             \
    X(SUBNET_ID, "subnet-id", 3, FLOE_T_STR)                                                       \
    X(INSTANCE_ID, "instance-id", 3, FLOE_T_STR)                                                   \
    X(TCP_FLAGS, "tcp-flags", 3, FLOE_T_U8)                                                        \
    X(TYPE, "type", 3, FLOE_T_ENUM)                                                                \
    X(PKT_SRCADDR, "pkt-srcaddr", 3, FLOE_T_ADDR)                                                  \
    X(PKT_DSTADDR, "pkt-dstaddr", 3, FLOE_T_ADDR)                                                  \
    X(REGION, "region", 4, FLOE_T_STR)                                                             \
    X(AZ_ID, "az-id", 4, FLOE_T_STR)                                                               \
    X(SUBLOCATION_TYPE, "sublocation-type", 4, FLOE_T_STR)                                         \
    X(SUBLOCATION_ID, "sublocation-id", 4, FLOE_T_STR)                                             \
    X(PKT_SRC_AWS_SERVICE, "pkt-src-aws-service", 5, FLOE_T_STR)                                   \
    X(PKT_DST_AWS_SERVICE, "pkt-dst-aws-service", 5, FLOE_T_STR)                                   \
    X(FLOW_DIRECTION, "flow-direction", 5, FLOE_T_ENUM)                                            \
    X(TRAFFIC_PATH, "traffic-path", 5, FLOE_T_U8)                                                  \
    X(RESOURCE_TYPE, "resource-type", 6, FLOE_T_STR)                                               \
    X(TGW_ID, "tgw-id", 6, FLOE_T_STR)                                                             \
    X(TGW_ATTACHMENT_ID, "tgw-attachment-id", 6, FLOE_T_STR)                                       \
    X(TGW_SRC_VPC_ACCOUNT_ID, "tgw-src-vpc-account-id", 6, FLOE_T_STR)                             \
    X(TGW_DST_VPC_ACCOUNT_ID, "tgw-dst-vpc-account-id", 6, FLOE_T_STR)                             \
    X(TGW_SRC_VPC_ID, "tgw-src-vpc-id", 6, FLOE_T_STR)                                             \
    X(TGW_DST_VPC_ID, "tgw-dst-vpc-id", 6, FLOE_T_STR)                                             \
    X(TGW_SRC_SUBNET_ID, "tgw-src-subnet-id", 6, FLOE_T_STR)                                       \
    X(TGW_DST_SUBNET_ID, "tgw-dst-subnet-id", 6, FLOE_T_STR)                                       \
    X(TGW_SRC_ENI, "tgw-src-eni", 6, FLOE_T_STR)                                                   \
    X(TGW_DST_ENI, "tgw-dst-eni", 6, FLOE_T_STR)                                                   \
    X(TGW_SRC_AZ_ID, "tgw-src-az-id", 6, FLOE_T_STR)                                               \
    X(TGW_DST_AZ_ID, "tgw-dst-az-id", 6, FLOE_T_STR)                                               \
    X(TGW_PAIR_ATTACHMENT_ID, "tgw-pair-attachment-id", 6, FLOE_T_STR)                             \
    X(PACKETS_LOST_NO_ROUTE, "packets-lost-no-route", 6, FLOE_T_U64)                               \
    X(PACKETS_LOST_BLACKHOLE, "packets-lost-blackhole", 6, FLOE_T_U64)                             \
    X(PACKETS_LOST_MTU_EXCEEDED, "packets-lost-mtu-exceeded", 6, FLOE_T_U64)                       \
    X(PACKETS_LOST_TTL_EXPIRED, "packets-lost-ttl-expired", 6, FLOE_T_U64)                         \
    X(ECS_CLUSTER_ARN, "ecs-cluster-arn", 7, FLOE_T_STR)                                           \
    X(ECS_CLUSTER_NAME, "ecs-cluster-name", 7, FLOE_T_STR)                                         \
    X(ECS_CONTAINER_INSTANCE_ARN, "ecs-container-instance-arn", 7, FLOE_T_STR)                     \
    X(ECS_CONTAINER_INSTANCE_ID, "ecs-container-instance-id", 7, FLOE_T_STR)                       \
    X(ECS_CONTAINER_ID, "ecs-container-id", 7, FLOE_T_STR)                                         \
    X(ECS_SECOND_CONTAINER_ID, "ecs-second-container-id", 7, FLOE_T_STR)                           \
    X(ECS_SERVICE_NAME, "ecs-service-name", 7, FLOE_T_STR)                                         \
    X(ECS_TASK_DEFINITION_ARN, "ecs-task-definition-arn", 7, FLOE_T_STR)                           \
    X(ECS_TASK_ARN, "ecs-task-arn", 7, FLOE_T_STR)                                                 \
    X(ECS_TASK_ID, "ecs-task-id", 7, FLOE_T_STR)                                                   \
    X(REJECT_REASON, "reject-reason", 8, FLOE_T_STR)                                               \
    X(RESOURCE_ID, "resource-id", 10, FLOE_T_STR)                                                  \
    X(ENCRYPTION_STATUS, "encryption-status", 10, FLOE_T_U8)

typedef enum floe_field {
#define FLOE_FIELD_ENUM_(id, name, ver, type) FLOE_F_##id,
    FLOE_FIELD_TABLE(FLOE_FIELD_ENUM_)
#undef FLOE_FIELD_ENUM_
        FLOE_FIELD_COUNT,
    FLOE_F_UNKNOWN = 255 /* a header name floe does not know: the column is skipped */
} floe_field;

/* Enum values. 0 always means null ("-"). Values are pinned (they reach output files). */
enum { FLOE_ACTION_NULL = 0, FLOE_ACTION_ACCEPT = 1, FLOE_ACTION_REJECT = 2 };
enum {
    FLOE_LOG_STATUS_NULL = 0,
    FLOE_LOG_STATUS_OK = 1,
    FLOE_LOG_STATUS_NODATA = 2,
    FLOE_LOG_STATUS_SKIPDATA = 3
};
enum { FLOE_TYPE_NULL = 0, FLOE_TYPE_IPV4 = 1, FLOE_TYPE_IPV6 = 2, FLOE_TYPE_EFA = 3 };
enum { FLOE_DIRECTION_NULL = 0, FLOE_DIRECTION_INGRESS = 1, FLOE_DIRECTION_EGRESS = 2 };

/* The AWS name ("log-status"), or NULL for an id outside the table. */
const char *floe_field_name(floe_field field);
/* The minimum flow-log version that has the field (2..10). */
int floe_field_version(floe_field field);
floe_type floe_field_type(floe_field field);
/* Looks a name up by exact match; FLOE_F_UNKNOWN when it is not a field. */
floe_field floe_field_lookup(const char *name, size_t name_len);
/* Field lists as users write them ("srcaddr dstaddr", "srcaddr,dstaddr"): finds the next word
 * at or after *pos, words being separated by spaces, tabs, line ends or commas. Returns false
 * when none is left; otherwise points *word at it, sets *word_len and moves *pos past it. */
bool floe_field_list_next(const char *text, size_t text_len, size_t *pos, const char **word,
                          size_t *word_len);
/* The word an enum field's value stands for ("ACCEPT"), or NULL for null / not an enum field. */
const char *floe_enum_word(floe_field field, uint8_t value);

/* The 14 fields of the default (version 2) format, in order. */
#define FLOE_DEFAULT_FORMAT                                                                        \
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes "      \
    "start end action log-status"

#endif
