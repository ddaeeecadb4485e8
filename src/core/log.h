/* log.h — leveled logging to stderr or a file.
 *
 * Never pass a secret (token secret, JWT, tunnel secret) to these functions:
 * log the token's id or name instead. */
#ifndef BURROW_LOG_H
#define BURROW_LOG_H

enum log_level { L_ERROR = 0, L_WARN, L_INFO, L_DEBUG };

/* Parses "error", "warn", "info", "debug"; returns -1 when unknown. */
int log_parse_level(const char *s);
void log_set_level(int level);
int log_get_level(void);
/* Appends to path (created 0600). Returns 0 or a negative error. */
int log_set_file(const char *path);
/* Prefix each line with this role name, e.g. "edge". */
void log_set_role(const char *role);
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(L_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(L_WARN, __VA_ARGS__)
#define log_info(...) log_msg(L_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(L_DEBUG, __VA_ARGS__)

#endif
