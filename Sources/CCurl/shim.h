#ifndef AUTHGATE_CCURL_SHIM_H
#define AUTHGATE_CCURL_SHIM_H
/* Debian's libcurl, OpenSSL flavour (libcurl4-openssl-dev; runtime libcurl4): the SMTP transport
 * of the mail outbox (issue 23): STARTTLS, certificate checks, AUTH. curl_easy_setopt and
 * curl_easy_getinfo are variadic, which Swift cannot call: these typed wrappers can be. */
#include <curl/curl.h>

typedef size_t (*authgate_curl_read_fn)(char *buffer, size_t size, size_t nitems, void *userdata);

static inline CURLcode authgate_curl_set_long(CURL *c, CURLoption o, long v) { return curl_easy_setopt(c, o, v); }
static inline CURLcode authgate_curl_set_str(CURL *c, CURLoption o, const char *v) { return curl_easy_setopt(c, o, v); }
static inline CURLcode authgate_curl_set_ptr(CURL *c, CURLoption o, void *v) { return curl_easy_setopt(c, o, v); }
static inline CURLcode authgate_curl_set_list(CURL *c, CURLoption o, struct curl_slist *v) { return curl_easy_setopt(c, o, v); }
static inline CURLcode authgate_curl_set_read(CURL *c, authgate_curl_read_fn f) { return curl_easy_setopt(c, CURLOPT_READFUNCTION, f); }
static inline CURLcode authgate_curl_response_code(CURL *c, long *v) { return curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, v); }
#endif
