/*
 * log.h - structured log lines on stderr.
 *
 * One line per event, logfmt style: `ts=... level=info msg="..." k=v ...`,
 * so operators can grep and machines can parse. Thread-safe (one write per
 * line). Callers pass the key=value tail themselves.
 */
#ifndef RANKD_LOG_H
#define RANKD_LOG_H

typedef enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR } log_level;

/* Parses "debug", "info", "warn", "error"; returns -1 when unknown. */
int log_level_parse(const char *s);
void log_set_level(log_level level);

/* `msg` is quoted for you; `fmt` formats the key=value tail (may be ""). */
void log_emit(log_level level, const char *msg, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define log_debug(msg, ...) log_emit(LOG_DEBUG, msg, __VA_ARGS__)
#define log_info(msg, ...) log_emit(LOG_INFO, msg, __VA_ARGS__)
#define log_warn(msg, ...) log_emit(LOG_WARN, msg, __VA_ARGS__)
#define log_error(msg, ...) log_emit(LOG_ERROR, msg, __VA_ARGS__)

#endif
