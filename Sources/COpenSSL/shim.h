#ifndef AUTHGATE_COPENSSL_SHIM_H
#define AUTHGATE_COPENSSL_SHIM_H
/* The low-level SHA256_* calls below are deprecated in OpenSSL 3 but fully supported there;
   they let HMAC keep a precomputed key state with no allocation per message. */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/crypto.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/err.h>
#include <stddef.h>
#include <string.h>

/* Wrappers take `void *` so Swift can pass raw buffers, and never hand OpenSSL a NULL
   pointer for an empty buffer. Each returns 1 on success, 0 on failure. */

static const unsigned char authgate_empty_byte = 0;

static inline const void *authgate_nonnull(const void *p) { return p ? p : &authgate_empty_byte; }

/* HMAC-SHA256 with the ipad/opad blocks already absorbed (RFC 2104). Immutable after init,
   so one key state can be read by any number of threads at once. */
typedef struct {
    SHA256_CTX inner;
    SHA256_CTX outer;
} authgate_hmac_sha256_key;

static inline int authgate_hmac_sha256_key_init(authgate_hmac_sha256_key *k, const void *key, size_t keylen) {
    unsigned char block[SHA256_CBLOCK];
    unsigned char pad[SHA256_CBLOCK];
    memset(block, 0, sizeof block);
    if (keylen > SHA256_CBLOCK) {
        if (SHA256((const unsigned char *)key, keylen, block) == NULL) return 0;
    } else if (keylen > 0) {
        memcpy(block, key, keylen);
    }
    int ok = 1;
    for (size_t i = 0; i < SHA256_CBLOCK; i++) pad[i] = block[i] ^ 0x36;
    ok = ok && SHA256_Init(&k->inner) == 1 && SHA256_Update(&k->inner, pad, sizeof pad) == 1;
    for (size_t i = 0; i < SHA256_CBLOCK; i++) pad[i] = block[i] ^ 0x5c;
    ok = ok && SHA256_Init(&k->outer) == 1 && SHA256_Update(&k->outer, pad, sizeof pad) == 1;
    OPENSSL_cleanse(block, sizeof block);
    OPENSSL_cleanse(pad, sizeof pad);
    return ok;
}

static inline int authgate_hmac_sha256_mac(const authgate_hmac_sha256_key *k, const void *data, size_t len, void *out32) {
    unsigned char inner_hash[SHA256_DIGEST_LENGTH];
    SHA256_CTX c = k->inner;
    int ok = SHA256_Update(&c, authgate_nonnull(data), len) == 1 && SHA256_Final(inner_hash, &c) == 1;
    c = k->outer;
    ok = ok && SHA256_Update(&c, inner_hash, sizeof inner_hash) == 1 && SHA256_Final((unsigned char *)out32, &c) == 1;
    OPENSSL_cleanse(&c, sizeof c);
    OPENSSL_cleanse(inner_hash, sizeof inner_hash);
    return ok;
}

/* OpenSSL's own one-shot HMAC, kept as an independent cross-check of the path above. */
static inline int authgate_hmac_sha256_oneshot(const void *key, size_t keylen, const void *data, size_t len, void *out32) {
    unsigned int outlen = 0;
    if (keylen > 0x7fffffff) return 0;
    return HMAC(EVP_sha256(), authgate_nonnull(key), (int)keylen, (const unsigned char *)authgate_nonnull(data), len,
                (unsigned char *)out32, &outlen) != NULL && outlen == 32;
}

static inline int authgate_digest(const EVP_MD *md, const void *data, size_t len, void *out, unsigned int expected) {
    unsigned int outlen = 0;
    return EVP_Digest(authgate_nonnull(data), len, (unsigned char *)out, &outlen, md, NULL) == 1 && outlen == expected;
}

static inline int authgate_random(void *out, size_t len) {
    if (len == 0) return 1;
    if (len > 0x7fffffff) return 0;
    return RAND_bytes((unsigned char *)out, (int)len) == 1;
}

static inline int authgate_memcmp(const void *a, const void *b, size_t len) {
    return CRYPTO_memcmp(authgate_nonnull(a), authgate_nonnull(b), len);
}

static inline int authgate_scrypt(const void *pass, size_t passlen, const void *salt, size_t saltlen,
                                  uint64_t n, uint64_t r, uint64_t p, uint64_t maxmem,
                                  void *out, size_t outlen) {
    return EVP_PBE_scrypt((const char *)authgate_nonnull(pass), passlen,
                          (const unsigned char *)authgate_nonnull(salt), saltlen,
                          n, r, p, maxmem, (unsigned char *)out, outlen) == 1;
}


/* HMAC-SHA1 for TOTP (RFC 6238 / RFC 4226: what every authenticator app computes). */
static inline int authgate_hmac_sha1(const void *key, size_t keylen, const void *data, size_t len, void *out20) {
    unsigned int outlen = 0;
    if (keylen > 0x7fffffff) return 0;
    return HMAC(EVP_sha1(), authgate_nonnull(key), (int)keylen, (const unsigned char *)authgate_nonnull(data), len,
                (unsigned char *)out20, &outlen) != NULL && outlen == 20;
}

/* AES-256-GCM with a 12-byte nonce and a 16-byte tag: seal writes len bytes of ciphertext and
   the tag; open checks the tag (returns 0 on a mismatch) and writes len bytes of plaintext. */
static inline int authgate_aes256gcm(int encrypt, const void *key32, const void *nonce12,
                                     const void *aad, size_t aadlen, const void *in, size_t len,
                                     void *out, void *tag16) {
    if (len > 0x7fffffff || aadlen > 0x7fffffff) return 0;
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx) return 0;
    int ok = 1, n = 0;
    ok = ok && EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), NULL, NULL, NULL, encrypt) == 1;
    ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, 12, NULL) == 1;
    ok = ok && EVP_CipherInit_ex(ctx, NULL, NULL, (const unsigned char *)key32, (const unsigned char *)nonce12, encrypt) == 1;
    if (ok && aadlen > 0) ok = EVP_CipherUpdate(ctx, NULL, &n, (const unsigned char *)aad, (int)aadlen) == 1;
    if (ok && len > 0) ok = EVP_CipherUpdate(ctx, (unsigned char *)out, &n, (const unsigned char *)in, (int)len) == 1;
    if (ok && !encrypt) ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tag16) == 1;
    unsigned char final_block[16];
    if (ok) ok = EVP_CipherFinal_ex(ctx, final_block, &n) == 1;
    if (ok && encrypt) ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag16) == 1;
    EVP_CIPHER_CTX_free(ctx);
    return ok;
}

static inline void authgate_cleanse(void *p, size_t len) { if (p && len) OPENSSL_cleanse(p, len); }
#endif
